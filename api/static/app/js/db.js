// The phone's own storage (IndexedDB): the outbox of actions and a cache of what was last seen.

const NAME = "gridwatch-worker";
const VERSION = 1;
let opened = null;

function open() {
  opened ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(NAME, VERSION);
    req.onupgradeneeded = () => {
      // Auto-increment keys keep the order actions were taken in, which is the order sent.
      req.result.createObjectStore("outbox", { keyPath: "id", autoIncrement: true });
      req.result.createObjectStore("kv");
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return opened;
}

function done(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function store(name, mode) {
  return (await open()).transaction(name, mode).objectStore(name);
}

/** Every outbox entry, oldest first. */
export async function outboxAll() {
  return done((await store("outbox", "readonly")).getAll());
}

/** Add an entry; answers its id. */
export async function outboxAdd(entry) {
  return done((await store("outbox", "readwrite")).add(entry));
}

/** Replace an entry (by its id). */
export async function outboxPut(entry) {
  return done((await store("outbox", "readwrite")).put(entry));
}

/** Remove an entry. */
export async function outboxDelete(id) {
  return done((await store("outbox", "readwrite")).delete(id));
}

/** A remembered value, or undefined. */
export async function recall(key) {
  return done((await store("kv", "readonly")).get(key));
}

/** Remember a value under `key`. */
export async function remember(key, value) {
  return done((await store("kv", "readwrite")).put(value, key));
}

/** Forget every remembered copy (incidents, queue): the next account must not see them. */
export async function forgetAll() {
  return done((await store("kv", "readwrite")).clear());
}
