/** Returned by a non-blocking attempt that would have to wait. */
export const BLOCKED: unique symbol = Symbol('dragon.blocked');
