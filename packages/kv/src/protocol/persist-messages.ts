import type { Durability } from './durability.js';
import type { PersistMessage } from './messages.js';

/**
 * Hands a message of durable progress (docs/ARCHITECTURE.md, "Persistency models and DP
 * tracking") from another member to this replica's Durability or its persist scopes.
 */
export function receivePersistMessage(durability: Durability, msg: PersistMessage): void {
  switch (msg.kind) {
    case 'persisted':
      durability.onPersisted(msg.sender, msg.items);
      return;
    case 'durable':
      durability.onDurable(msg.items);
      return;
    case 'persist-request':
      durability.onPersistRequest(msg.sender, msg.items);
      return;
    case 'scope-sync':
      durability.scopes.onSync(msg.sender, msg.scopeId, msg.items);
      return;
    case 'scope-ok':
      durability.scopes.onOk(msg.sender, msg.scopeId, msg.ok);
      return;
  }
}
