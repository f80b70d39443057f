/** MPI-5 standard ABI values as seen by wasm32 guests (guest-sdk/include/mpi.h mirrors these). */
export const SUCCESS = 0;
export const ERR = {
  BUFFER: 1, COUNT: 2, TYPE: 3, TAG: 4, COMM: 5, RANK: 6, REQUEST: 7, ROOT: 8, GROUP: 9, OP: 10,
  ARG: 13, UNKNOWN: 14, TRUNCATE: 15, OTHER: 16, INTERN: 17,
  ASSERT: 22, BASE: 24, DISP: 26, LOCKTYPE: 37, NO_MEM: 39, RMA_CONFLICT: 47, RMA_RANGE: 48, RMA_SYNC: 50, SIZE: 52,
  UNSUPPORTED_OPERATION: 55, WIN: 56, RMA_FLAVOR: 57,
} as const;
export const BSEND_OVERHEAD = 512;
export const WIN_NULL = 0x110;
export const INFO_NULL = 0x130;
export const MODE = { NOCHECK: 1024, NOPRECEDE: 2048, NOPUT: 4096, NOSTORE: 8192, NOSUCCEED: 16384 } as const;
export const LOCK_EXCLUSIVE = 301, LOCK_SHARED = 302;
export const WIN_FLAVOR_CREATE = 311, WIN_FLAVOR_ALLOCATE = 312;
export const WIN_UNIFIED = 321;
export const WIN_ATTR = { BASE: 601, DISP_UNIT: 602, SIZE: 603, CREATE_FLAVOR: 604, MODEL: 605 } as const;
export const ANY_SOURCE = -1;
export const ANY_TAG = -2;
export const PROC_NULL = -3;
export const UNDEFINED = -32766;
export const IN_PLACE = 1;
export const STATUS_IGNORE = 0;
export const STATUS_BYTES = 32;

export const COMM_NULL = 0x100;
export const COMM_WORLD = 0x101;
export const COMM_SELF = 0x102;
export const GROUP_NULL = 0x108;
export const GROUP_EMPTY = 0x109;
export const REQUEST_NULL = 0x180;
export const DATATYPE_NULL = 0x200;
export const OP_NULL = 0x20;
export const OP = {
  SUM: 0x21, MIN: 0x22, MAX: 0x23, PROD: 0x24, BAND: 0x28, BOR: 0x29, BXOR: 0x2a,
  LAND: 0x30, LOR: 0x31, LXOR: 0x32, MINLOC: 0x38, MAXLOC: 0x39, REPLACE: 0x3c, NO_OP: 0x3d,
} as const;
export const IDENT = 201, CONGRUENT = 202, SIMILAR = 203, UNEQUAL = 204;
export const THREAD_SINGLE = 0, THREAD_MULTIPLE = 4096;
/** First handle value handed out for user-created objects (above every predefined one). */
export const FIRST_USER_HANDLE = 0x1000;
