/** Fields per job in an enqueue call, per settlement in a settle call: fixed, so Lua can index. */
export const ENQUEUE_FIELDS = 13;
export const SETTLE_FIELDS = 5;
