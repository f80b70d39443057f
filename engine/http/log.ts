/** The gateway logs through the engine's one logger (engine/observe/log.ts: pino, JSON lines off a terminal). */
export { jsonLogger, log, silentLogger, type LogFields, type Logger } from '../observe/log.ts';
