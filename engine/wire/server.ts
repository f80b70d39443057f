// The wire server moved to engine/places/server.ts (it owns places); this path stays for existing imports.
export * from '../places/server.ts';
