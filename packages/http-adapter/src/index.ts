export { jobsPlugin, type JobsDecorator, type JobsLimits, type JobsPluginOptions } from './jobs-plugin.js';
export { jobsPlugin as default } from './jobs-plugin.js';
export type { AuthOptions } from './auth-hook.js';
export type { DashboardOptions } from './dashboard/dashboard-routes.js';
export type { MetricsOptions } from './jobs-metrics.js';
export { inputSchema, type RouteDoc } from './openapi.js';
export {
  HttpProblemError,
  httpProblemCodes,
  problemStatuses,
  problemType,
  type HttpProblemCode,
  type Problem,
  type ProblemCode,
  type ProblemIssue,
} from './problem.js';
export { problemFrameworkErrors, problemNotFound } from './problem-error-handler.js';
export type { TenantQuotaOptions } from './tenant-quota.js';
