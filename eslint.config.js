// Type-aware lint: an async job framework lives or dies on floating and misused promises.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.tmp/**', 'coverage/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Stores, routes and hooks implement async contracts: an async function without an await
      // keeps a synchronous throw a rejection, which is what their callers handle.
      '@typescript-eslint/require-await': 'off',
      // A caught `unknown`, or an AbortSignal's `reason` (typed `any` by the DOM), is handed on as
      // it came: an Error in practice, and the caller's own choice of reason otherwise.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true, allowThrowingAny: true }],
    },
  },
  {
    // Tests read JSON bodies, Redis replies and fixtures whose types are the thing under test:
    // asserting on them through `any` is the point, so the no-unsafe-* family stays off there.
    files: ['**/test/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'chaos/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
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
    files: ['packages/http-adapter/src/dashboard/*.js'],
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
