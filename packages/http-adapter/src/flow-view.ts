import type { FlowGateState, JobTypeFlow } from '@scalable-api/core';

/** A gate as the route (and the dashboard) shows it: times as ISO strings. */
export interface FlowGateView {
  heldUntil?: string;
  pushBackUntil?: string;
  tokens?: number;
}

export type FlowKeyView = FlowGateView & { key: string; queued: number; running?: number };

/** A job type's flow as the route (and the dashboard) shows it. */
export type JobTypeFlowView = FlowGateView &
  Pick<JobTypeFlow, 'name' | 'paused' | 'queued' | 'keys' | 'partial' | 'rateLimit' | 'fairShare'> & { top: FlowKeyView[] };

export function jobTypeFlowView(flow: JobTypeFlow): JobTypeFlowView {
  const { heldUntil: _held, pushBackUntil: _pushBack, tokens: _tokens, top, ...rest } = flow;
  return {
    ...rest,
    ...gateView(flow),
    top: top.map(({ key, queued, running, ...gate }) => ({ key, queued, ...(running === undefined ? {} : { running }), ...gateView(gate) })),
  };
}

function gateView(gate: FlowGateState): FlowGateView {
  const out: FlowGateView = {};
  if (gate.heldUntil !== undefined) out.heldUntil = new Date(gate.heldUntil).toISOString();
  if (gate.pushBackUntil !== undefined) out.pushBackUntil = new Date(gate.pushBackUntil).toISOString();
  if (gate.tokens !== undefined) out.tokens = gate.tokens;
  return out;
}
