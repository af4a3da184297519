import type { ActorModule, Message } from '../actor.js';
import { Codec } from '../codec.js';

/** Where a worker finds an actor module: an ES module URL and the export holding it. */
export interface ActorModuleRef {
  readonly url: string;
  readonly exportName?: string;
}

/** Imports and checks an actor module, with an error naming what is missing. */
export async function loadActorModule<M extends Message, S, C>(
  ref: ActorModuleRef,
): Promise<ActorModule<M, S, C>> {
  const name = ref.exportName ?? 'default';
  const namespace = (await import(ref.url)) as Record<string, unknown>;
  const module = namespace[name] as Partial<ActorModule<M, S, C>> | undefined;
  const where = `actor module ${ref.url} (export '${name}')`;
  if (typeof module !== 'object' || module === null)
    throw new TypeError(`${where} is not an object`);
  if (!(module.codec instanceof Codec))
    throw new TypeError(`${where} has no codec (a Codec instance)`);
  if (typeof module.createActor !== 'function')
    throw new TypeError(`${where} has no createActor function`);
  if (module.createStorage !== undefined && typeof module.createStorage !== 'function') {
    throw new TypeError(`${where}: createStorage must be a function`);
  }
  return module as ActorModule<M, S, C>;
}
