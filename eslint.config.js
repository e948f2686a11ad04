// Type-aware lint: an async job framework lives or dies on floating and misused promises.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.tmp/**', 'coverage/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: {
      parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The client runs in browsers as well as Node 20: fetch, streams, timers and AbortSignal only.
    files: ['packages/client/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^node:', message: 'The client runs in browsers: no Node built-ins.' }] }],
      'no-restricted-globals': [
        'error',
        ...['Buffer', 'process', 'require', 'module', '__dirname', '__filename', 'setImmediate', 'global'].map((name) => ({
          name,
          message: 'The client runs in browsers: no Node-only globals.',
        })),
      ],
    },
  },
  {
    // The dashboard page's script: plain JavaScript for the browser, typed by JSDoc and checked
    // (with the DOM's types) by its own tsconfig, linted with the same promise rules.
    files: ['packages/http-adapter/src/dashboard/app.js'],
    extends: [tseslint.configs.base],
    languageOptions: {
      parserOptions: { project: './packages/http-adapter/src/dashboard/tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': 'error',
    },
  },
);
