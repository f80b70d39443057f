// roam guest SDK for AssemblyScript: `import { reply, log, regionRead } from "roam";`
export * from "./io";
export * from "./log";
export * from "./clock";
export * from "./regions";
export * from "./http";
