import type { AnyActorRef } from 'xstate';

/**
 * Whether an actor still takes events. A timer or a callback can outlive the actor it was set
 * for (the system stopped meanwhile); `AnyActorRef`'s snapshot is untyped, so the one read of
 * its status lives here.
 */
export function isActive(actor: AnyActorRef): boolean {
  return (actor.getSnapshot() as { status: string }).status === 'active';
}
