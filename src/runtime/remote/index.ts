// The cross-node client: importing this room registers how channels and
// sync objects of another node are made (core/ never imports this floor).
// The package entry imports it, so every process that can receive an object
// of another node has it.
export { Gateway, GATEWAY_ENV } from './gateway.js';
export { RemoteChannel } from './channel.js';
export { RemoteSync } from './sync.js';
export { RemoteMemory } from './memory.js';
