/* roam guest-sdk mpi.h: the MPI-5 standard ABI (handles are small integers with the
 * standard's predefined values) for wasm32 guests. Every function is a Wasm import from
 * the `roam:mpi` module, provided by the host (embedded MPI or system libmpi). Written for
 * roam from the standard's ABI facts. */
#ifndef ROAM_MPI_H
#define ROAM_MPI_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
#define MPI_VERSION 5
#define MPI_SUBVERSION 0
#define MPI_ABI_VERSION 1
#define MPI_ABI_SUBVERSION 0

typedef intptr_t MPI_Aint;
typedef int64_t MPI_Offset;
typedef int64_t MPI_Count;
typedef struct { int MPI_SOURCE; int MPI_TAG; int MPI_ERROR; int MPI_internal[5]; } MPI_Status;

typedef struct MPI_ABI_Op *MPI_Op;
#define MPI_OP_NULL ((MPI_Op)0x00000020)
#define MPI_SUM ((MPI_Op)0x00000021)
#define MPI_MIN ((MPI_Op)0x00000022)
#define MPI_MAX ((MPI_Op)0x00000023)
#define MPI_PROD ((MPI_Op)0x00000024)
#define MPI_BAND ((MPI_Op)0x00000028)
#define MPI_BOR ((MPI_Op)0x00000029)
#define MPI_BXOR ((MPI_Op)0x0000002a)
#define MPI_LAND ((MPI_Op)0x00000030)
#define MPI_LOR ((MPI_Op)0x00000031)
#define MPI_LXOR ((MPI_Op)0x00000032)
#define MPI_MINLOC ((MPI_Op)0x00000038)
#define MPI_MAXLOC ((MPI_Op)0x00000039)
#define MPI_REPLACE ((MPI_Op)0x0000003c)
#define MPI_NO_OP ((MPI_Op)0x0000003d)
typedef struct MPI_ABI_Comm *MPI_Comm;
#define MPI_COMM_NULL ((MPI_Comm)0x00000100)
#define MPI_COMM_WORLD ((MPI_Comm)0x00000101)
#define MPI_COMM_SELF ((MPI_Comm)0x00000102)
typedef struct MPI_ABI_Group *MPI_Group;
#define MPI_GROUP_NULL ((MPI_Group)0x00000108)
#define MPI_GROUP_EMPTY ((MPI_Group)0x00000109)
typedef struct MPI_ABI_Win *MPI_Win;
#define MPI_WIN_NULL ((MPI_Win)0x00000110)
typedef struct MPI_ABI_File *MPI_File;
#define MPI_FILE_NULL ((MPI_File)0x00000118)
typedef struct MPI_ABI_Session *MPI_Session;
#define MPI_SESSION_NULL ((MPI_Session)0x00000120)
typedef struct MPI_ABI_Message *MPI_Message;
#define MPI_MESSAGE_NULL ((MPI_Message)0x00000128)
#define MPI_MESSAGE_NO_PROC ((MPI_Message)0x00000129)
typedef struct MPI_ABI_Info *MPI_Info;
#define MPI_INFO_NULL ((MPI_Info)0x00000130)
#define MPI_INFO_ENV ((MPI_Info)0x00000131)
typedef struct MPI_ABI_Errhandler *MPI_Errhandler;
#define MPI_ERRHANDLER_NULL ((MPI_Errhandler)0x00000140)
#define MPI_ERRORS_ARE_FATAL ((MPI_Errhandler)0x00000141)
#define MPI_ERRORS_RETURN ((MPI_Errhandler)0x00000142)
#define MPI_ERRORS_ABORT ((MPI_Errhandler)0x00000143)
typedef struct MPI_ABI_Request *MPI_Request;
#define MPI_REQUEST_NULL ((MPI_Request)0x00000180)
typedef struct MPI_ABI_Datatype *MPI_Datatype;
#define MPI_DATATYPE_NULL ((MPI_Datatype)0x00000200)
#define MPI_AINT ((MPI_Datatype)0x00000201)
#define MPI_COUNT ((MPI_Datatype)0x00000202)
#define MPI_OFFSET ((MPI_Datatype)0x00000203)
#define MPI_PACKED ((MPI_Datatype)0x00000207)
#define MPI_SHORT ((MPI_Datatype)0x00000208)
#define MPI_INT ((MPI_Datatype)0x00000209)
#define MPI_LONG ((MPI_Datatype)0x0000020a)
#define MPI_LONG_LONG ((MPI_Datatype)0x0000020b)
#define MPI_UNSIGNED_SHORT ((MPI_Datatype)0x0000020c)
#define MPI_UNSIGNED ((MPI_Datatype)0x0000020d)
#define MPI_UNSIGNED_LONG ((MPI_Datatype)0x0000020e)
#define MPI_UNSIGNED_LONG_LONG ((MPI_Datatype)0x0000020f)
#define MPI_FLOAT ((MPI_Datatype)0x00000210)
#define MPI_C_FLOAT_COMPLEX ((MPI_Datatype)0x00000212)
#define MPI_DOUBLE ((MPI_Datatype)0x00000214)
#define MPI_C_DOUBLE_COMPLEX ((MPI_Datatype)0x00000216)
#define MPI_LONG_DOUBLE ((MPI_Datatype)0x00000220)
#define MPI_FLOAT_INT ((MPI_Datatype)0x00000228)
#define MPI_DOUBLE_INT ((MPI_Datatype)0x00000229)
#define MPI_LONG_INT ((MPI_Datatype)0x0000022a)
#define MPI_2INT ((MPI_Datatype)0x0000022b)
#define MPI_SHORT_INT ((MPI_Datatype)0x0000022c)
#define MPI_LONG_DOUBLE_INT ((MPI_Datatype)0x0000022d)
#define MPI_C_BOOL ((MPI_Datatype)0x00000238)
#define MPI_WCHAR ((MPI_Datatype)0x0000023c)
#define MPI_INT8_T ((MPI_Datatype)0x00000240)
#define MPI_UINT8_T ((MPI_Datatype)0x00000241)
#define MPI_CHAR ((MPI_Datatype)0x00000243)
#define MPI_SIGNED_CHAR ((MPI_Datatype)0x00000244)
#define MPI_UNSIGNED_CHAR ((MPI_Datatype)0x00000245)
#define MPI_BYTE ((MPI_Datatype)0x00000247)
#define MPI_INT16_T ((MPI_Datatype)0x00000248)
#define MPI_UINT16_T ((MPI_Datatype)0x00000249)
#define MPI_INT32_T ((MPI_Datatype)0x00000250)
#define MPI_UINT32_T ((MPI_Datatype)0x00000251)
#define MPI_INT64_T ((MPI_Datatype)0x00000258)
#define MPI_UINT64_T ((MPI_Datatype)0x00000259)
#define MPI_LONG_LONG_INT MPI_LONG_LONG
#define MPI_C_COMPLEX MPI_C_FLOAT_COMPLEX

enum {
  MPI_SUCCESS = 0,
  MPI_ERR_BUFFER = 1,
  MPI_ERR_COUNT = 2,
  MPI_ERR_TYPE = 3,
  MPI_ERR_TAG = 4,
  MPI_ERR_COMM = 5,
  MPI_ERR_RANK = 6,
  MPI_ERR_REQUEST = 7,
  MPI_ERR_ROOT = 8,
  MPI_ERR_GROUP = 9,
  MPI_ERR_OP = 10,
  MPI_ERR_TOPOLOGY = 11,
  MPI_ERR_DIMS = 12,
  MPI_ERR_ARG = 13,
  MPI_ERR_UNKNOWN = 14,
  MPI_ERR_TRUNCATE = 15,
  MPI_ERR_OTHER = 16,
  MPI_ERR_INTERN = 17,
  MPI_ERR_PENDING = 18,
  MPI_ERR_IN_STATUS = 19,
  MPI_ERR_ASSERT = 22,
  MPI_ERR_BASE = 24,
  MPI_ERR_DISP = 26,
  MPI_ERR_LOCKTYPE = 37,
  MPI_ERR_NO_MEM = 39,
  MPI_ERR_RMA_CONFLICT = 47,
  MPI_ERR_RMA_RANGE = 48,
  MPI_ERR_RMA_SYNC = 50,
  MPI_ERR_SIZE = 52,
  MPI_ERR_UNSUPPORTED_OPERATION = 55,
  MPI_ERR_WIN = 56,
  MPI_ERR_RMA_FLAVOR = 57,
  MPI_ERR_LASTCODE = 0x3fff
};
#define MPI_BOTTOM ((void *)0)
#define MPI_IN_PLACE ((void *)1)
#define MPI_BUFFER_AUTOMATIC ((void *)2)
#define MPI_STATUS_IGNORE ((MPI_Status *)0)
#define MPI_STATUSES_IGNORE ((MPI_Status *)0)
#define MPI_ERRCODES_IGNORE ((int *)0)
#define MPI_ARGV_NULL ((char **)0)
#define MPI_MAX_PROCESSOR_NAME 256
#define MPI_MAX_ERROR_STRING 512
#define MPI_MAX_LIBRARY_VERSION_STRING 8192
#define MPI_MAX_OBJECT_NAME 128
enum { MPI_ANY_SOURCE = -1, MPI_ANY_TAG = -2, MPI_PROC_NULL = -3, MPI_ROOT = -4, MPI_UNDEFINED = -32766 };
enum { MPI_THREAD_SINGLE = 0, MPI_THREAD_FUNNELED = 1024, MPI_THREAD_SERIALIZED = 2048, MPI_THREAD_MULTIPLE = 4096 };
enum { MPI_IDENT = 201, MPI_CONGRUENT = 202, MPI_SIMILAR = 203, MPI_UNEQUAL = 204 };
enum { MPI_TAG_UB = 501, MPI_WTIME_IS_GLOBAL = 504 };
#define MPI_BSEND_OVERHEAD 512
enum { MPI_MODE_NOCHECK = 1024, MPI_MODE_NOPRECEDE = 2048, MPI_MODE_NOPUT = 4096, MPI_MODE_NOSTORE = 8192, MPI_MODE_NOSUCCEED = 16384 };
enum { MPI_LOCK_EXCLUSIVE = 301, MPI_LOCK_SHARED = 302 };
enum { MPI_WIN_FLAVOR_CREATE = 311, MPI_WIN_FLAVOR_ALLOCATE = 312, MPI_WIN_FLAVOR_DYNAMIC = 313, MPI_WIN_FLAVOR_SHARED = 314 };
enum { MPI_WIN_UNIFIED = 321, MPI_WIN_SEPARATE = 322 };
enum { MPI_WIN_BASE = 601, MPI_WIN_DISP_UNIT = 602, MPI_WIN_SIZE = 603, MPI_WIN_CREATE_FLAVOR = 604, MPI_WIN_MODEL = 605 };
typedef void (MPI_User_function)(void *invec, void *inoutvec, int *len, MPI_Datatype *datatype);

#define ROAM_MPI(name) __attribute__((import_module("roam:mpi"), import_name(#name)))

ROAM_MPI(MPI_Init) int MPI_Init(int *argc, char ***argv);
ROAM_MPI(MPI_Init_thread) int MPI_Init_thread(int *argc, char ***argv, int required, int *provided);
ROAM_MPI(MPI_Initialized) int MPI_Initialized(int *flag);
ROAM_MPI(MPI_Finalize) int MPI_Finalize(void);
ROAM_MPI(MPI_Finalized) int MPI_Finalized(int *flag);
ROAM_MPI(MPI_Abort) int MPI_Abort(MPI_Comm comm, int errorcode);
ROAM_MPI(MPI_Get_version) int MPI_Get_version(int *version, int *subversion);
ROAM_MPI(MPI_Get_processor_name) int MPI_Get_processor_name(char *name, int *resultlen);
ROAM_MPI(MPI_Comm_rank) int MPI_Comm_rank(MPI_Comm comm, int *rank);
ROAM_MPI(MPI_Comm_size) int MPI_Comm_size(MPI_Comm comm, int *size);
ROAM_MPI(MPI_Comm_dup) int MPI_Comm_dup(MPI_Comm comm, MPI_Comm *newcomm);
ROAM_MPI(MPI_Comm_split) int MPI_Comm_split(MPI_Comm comm, int color, int key, MPI_Comm *newcomm);
ROAM_MPI(MPI_Comm_free) int MPI_Comm_free(MPI_Comm *comm);
ROAM_MPI(MPI_Comm_compare) int MPI_Comm_compare(MPI_Comm comm1, MPI_Comm comm2, int *result);
ROAM_MPI(MPI_Comm_group) int MPI_Comm_group(MPI_Comm comm, MPI_Group *group);
ROAM_MPI(MPI_Group_incl) int MPI_Group_incl(MPI_Group group, int n, const int ranks[], MPI_Group *newgroup);
ROAM_MPI(MPI_Group_translate_ranks) int MPI_Group_translate_ranks(MPI_Group group1, int n, const int ranks1[], MPI_Group group2, int ranks2[]);
ROAM_MPI(MPI_Group_size) int MPI_Group_size(MPI_Group group, int *size);
ROAM_MPI(MPI_Group_rank) int MPI_Group_rank(MPI_Group group, int *rank);
ROAM_MPI(MPI_Group_free) int MPI_Group_free(MPI_Group *group);
ROAM_MPI(MPI_Comm_create) int MPI_Comm_create(MPI_Comm comm, MPI_Group group, MPI_Comm *newcomm);
ROAM_MPI(MPI_Send) int MPI_Send(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm);
ROAM_MPI(MPI_Ssend) int MPI_Ssend(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm);
ROAM_MPI(MPI_Recv) int MPI_Recv(void *buf, int count, MPI_Datatype datatype, int source, int tag, MPI_Comm comm, MPI_Status *status);
ROAM_MPI(MPI_Isend) int MPI_Isend(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Irecv) int MPI_Irecv(void *buf, int count, MPI_Datatype datatype, int source, int tag, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Wait) int MPI_Wait(MPI_Request *request, MPI_Status *status);
ROAM_MPI(MPI_Waitall) int MPI_Waitall(int count, MPI_Request array_of_requests[], MPI_Status array_of_statuses[]);
ROAM_MPI(MPI_Waitany) int MPI_Waitany(int count, MPI_Request array_of_requests[], int *index, MPI_Status *status);
ROAM_MPI(MPI_Test) int MPI_Test(MPI_Request *request, int *flag, MPI_Status *status);
ROAM_MPI(MPI_Testall) int MPI_Testall(int count, MPI_Request array_of_requests[], int *flag, MPI_Status array_of_statuses[]);
ROAM_MPI(MPI_Request_free) int MPI_Request_free(MPI_Request *request);
ROAM_MPI(MPI_Sendrecv) int MPI_Sendrecv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag, void *recvbuf, int recvcount, MPI_Datatype recvtype, int source, int recvtag, MPI_Comm comm, MPI_Status *status);
ROAM_MPI(MPI_Sendrecv_replace) int MPI_Sendrecv_replace(void *buf, int count, MPI_Datatype datatype, int dest, int sendtag, int source, int recvtag, MPI_Comm comm, MPI_Status *status);
ROAM_MPI(MPI_Probe) int MPI_Probe(int source, int tag, MPI_Comm comm, MPI_Status *status);
ROAM_MPI(MPI_Iprobe) int MPI_Iprobe(int source, int tag, MPI_Comm comm, int *flag, MPI_Status *status);
ROAM_MPI(MPI_Get_count) int MPI_Get_count(const MPI_Status *status, MPI_Datatype datatype, int *count);
ROAM_MPI(MPI_Barrier) int MPI_Barrier(MPI_Comm comm);
ROAM_MPI(MPI_Bcast) int MPI_Bcast(void *buffer, int count, MPI_Datatype datatype, int root, MPI_Comm comm);
ROAM_MPI(MPI_Reduce) int MPI_Reduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op, int root, MPI_Comm comm);
ROAM_MPI(MPI_Allreduce) int MPI_Allreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm);
ROAM_MPI(MPI_Gather) int MPI_Gather(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm);
ROAM_MPI(MPI_Gatherv) int MPI_Gatherv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, const int recvcounts[], const int displs[], MPI_Datatype recvtype, int root, MPI_Comm comm);
ROAM_MPI(MPI_Scatter) int MPI_Scatter(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm);
ROAM_MPI(MPI_Scatterv) int MPI_Scatterv(const void *sendbuf, const int sendcounts[], const int displs[], MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm);
ROAM_MPI(MPI_Allgather) int MPI_Allgather(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, MPI_Comm comm);
ROAM_MPI(MPI_Allgatherv) int MPI_Allgatherv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, const int recvcounts[], const int displs[], MPI_Datatype recvtype, MPI_Comm comm);
ROAM_MPI(MPI_Alltoall) int MPI_Alltoall(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, MPI_Comm comm);
ROAM_MPI(MPI_Alltoallv) int MPI_Alltoallv(const void *sendbuf, const int sendcounts[], const int sdispls[], MPI_Datatype sendtype, void *recvbuf, const int recvcounts[], const int rdispls[], MPI_Datatype recvtype, MPI_Comm comm);
ROAM_MPI(MPI_Reduce_scatter) int MPI_Reduce_scatter(const void *sendbuf, void *recvbuf, const int recvcounts[], MPI_Datatype datatype, MPI_Op op, MPI_Comm comm);
ROAM_MPI(MPI_Scan) int MPI_Scan(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm);
ROAM_MPI(MPI_Exscan) int MPI_Exscan(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm);
ROAM_MPI(MPI_Type_size) int MPI_Type_size(MPI_Datatype datatype, int *size);
ROAM_MPI(MPI_Type_contiguous) int MPI_Type_contiguous(int count, MPI_Datatype oldtype, MPI_Datatype *newtype);
ROAM_MPI(MPI_Type_vector) int MPI_Type_vector(int count, int blocklength, int stride, MPI_Datatype oldtype, MPI_Datatype *newtype);
ROAM_MPI(MPI_Type_commit) int MPI_Type_commit(MPI_Datatype *datatype);
ROAM_MPI(MPI_Type_free) int MPI_Type_free(MPI_Datatype *datatype);
ROAM_MPI(MPI_Type_get_extent) int MPI_Type_get_extent(MPI_Datatype datatype, MPI_Aint *lb, MPI_Aint *extent);
ROAM_MPI(MPI_Op_create) int MPI_Op_create(MPI_User_function *user_fn, int commute, MPI_Op *op);
ROAM_MPI(MPI_Op_free) int MPI_Op_free(MPI_Op *op);
/* point to point: send modes, buffered sends, persistent requests, completion, matched probes */
ROAM_MPI(MPI_Bsend) int MPI_Bsend(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm);
ROAM_MPI(MPI_Rsend) int MPI_Rsend(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm);
ROAM_MPI(MPI_Issend) int MPI_Issend(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Ibsend) int MPI_Ibsend(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Irsend) int MPI_Irsend(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Buffer_attach) int MPI_Buffer_attach(void *buffer, int size);
ROAM_MPI(MPI_Buffer_detach) int MPI_Buffer_detach(void *buffer_addr, int *size);
ROAM_MPI(MPI_Send_init) int MPI_Send_init(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Ssend_init) int MPI_Ssend_init(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Bsend_init) int MPI_Bsend_init(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Rsend_init) int MPI_Rsend_init(const void *buf, int count, MPI_Datatype datatype, int dest, int tag, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Recv_init) int MPI_Recv_init(void *buf, int count, MPI_Datatype datatype, int source, int tag, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Start) int MPI_Start(MPI_Request *request);
ROAM_MPI(MPI_Startall) int MPI_Startall(int count, MPI_Request array_of_requests[]);
ROAM_MPI(MPI_Testany) int MPI_Testany(int count, MPI_Request array_of_requests[], int *index, int *flag, MPI_Status *status);
ROAM_MPI(MPI_Testsome) int MPI_Testsome(int incount, MPI_Request array_of_requests[], int *outcount, int array_of_indices[], MPI_Status array_of_statuses[]);
ROAM_MPI(MPI_Waitsome) int MPI_Waitsome(int incount, MPI_Request array_of_requests[], int *outcount, int array_of_indices[], MPI_Status array_of_statuses[]);
ROAM_MPI(MPI_Request_get_status) int MPI_Request_get_status(MPI_Request request, int *flag, MPI_Status *status);
ROAM_MPI(MPI_Cancel) int MPI_Cancel(MPI_Request *request);
ROAM_MPI(MPI_Test_cancelled) int MPI_Test_cancelled(const MPI_Status *status, int *flag);
ROAM_MPI(MPI_Mprobe) int MPI_Mprobe(int source, int tag, MPI_Comm comm, MPI_Message *message, MPI_Status *status);
ROAM_MPI(MPI_Improbe) int MPI_Improbe(int source, int tag, MPI_Comm comm, int *flag, MPI_Message *message, MPI_Status *status);
ROAM_MPI(MPI_Mrecv) int MPI_Mrecv(void *buf, int count, MPI_Datatype datatype, MPI_Message *message, MPI_Status *status);
ROAM_MPI(MPI_Imrecv) int MPI_Imrecv(void *buf, int count, MPI_Datatype datatype, MPI_Message *message, MPI_Request *request);
ROAM_MPI(MPI_Get_elements) int MPI_Get_elements(const MPI_Status *status, MPI_Datatype datatype, int *count);
ROAM_MPI(MPI_Get_address) int MPI_Get_address(const void *location, MPI_Aint *address);
ROAM_MPI(MPI_Aint_add) MPI_Aint MPI_Aint_add(MPI_Aint base, MPI_Aint disp);
ROAM_MPI(MPI_Aint_diff) MPI_Aint MPI_Aint_diff(MPI_Aint addr1, MPI_Aint addr2);
ROAM_MPI(MPI_Alloc_mem) int MPI_Alloc_mem(MPI_Aint size, MPI_Info info, void *baseptr);
ROAM_MPI(MPI_Free_mem) int MPI_Free_mem(void *base);

/* collectives: the rest of the blocking ones, and MPI-3's nonblocking ones */
ROAM_MPI(MPI_Reduce_local) int MPI_Reduce_local(const void *inbuf, void *inoutbuf, int count, MPI_Datatype datatype, MPI_Op op);
ROAM_MPI(MPI_Op_commutative) int MPI_Op_commutative(MPI_Op op, int *commute);
ROAM_MPI(MPI_Reduce_scatter_block) int MPI_Reduce_scatter_block(const void *sendbuf, void *recvbuf, int recvcount, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm);
ROAM_MPI(MPI_Alltoallw) int MPI_Alltoallw(const void *sendbuf, const int sendcounts[], const int sdispls[], const MPI_Datatype sendtypes[], void *recvbuf, const int recvcounts[], const int rdispls[], const MPI_Datatype recvtypes[], MPI_Comm comm);
ROAM_MPI(MPI_Ibarrier) int MPI_Ibarrier(MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Ibcast) int MPI_Ibcast(void *buffer, int count, MPI_Datatype datatype, int root, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Igather) int MPI_Igather(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Igatherv) int MPI_Igatherv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, const int recvcounts[], const int displs[], MPI_Datatype recvtype, int root, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Iscatter) int MPI_Iscatter(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Iscatterv) int MPI_Iscatterv(const void *sendbuf, const int sendcounts[], const int displs[], MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Iallgather) int MPI_Iallgather(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Iallgatherv) int MPI_Iallgatherv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, const int recvcounts[], const int displs[], MPI_Datatype recvtype, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Ialltoall) int MPI_Ialltoall(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Ialltoallv) int MPI_Ialltoallv(const void *sendbuf, const int sendcounts[], const int sdispls[], MPI_Datatype sendtype, void *recvbuf, const int recvcounts[], const int rdispls[], MPI_Datatype recvtype, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Ialltoallw) int MPI_Ialltoallw(const void *sendbuf, const int sendcounts[], const int sdispls[], const MPI_Datatype sendtypes[], void *recvbuf, const int recvcounts[], const int rdispls[], const MPI_Datatype recvtypes[], MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Ireduce) int MPI_Ireduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op, int root, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Iallreduce) int MPI_Iallreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Ireduce_scatter) int MPI_Ireduce_scatter(const void *sendbuf, void *recvbuf, const int recvcounts[], MPI_Datatype datatype, MPI_Op op, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Ireduce_scatter_block) int MPI_Ireduce_scatter_block(const void *sendbuf, void *recvbuf, int recvcount, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Iscan) int MPI_Iscan(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm, MPI_Request *request);
ROAM_MPI(MPI_Iexscan) int MPI_Iexscan(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm, MPI_Request *request);

/* one-sided communication (windows) */
ROAM_MPI(MPI_Win_create) int MPI_Win_create(void *base, MPI_Aint size, int disp_unit, MPI_Info info, MPI_Comm comm, MPI_Win *win);
ROAM_MPI(MPI_Win_allocate) int MPI_Win_allocate(MPI_Aint size, int disp_unit, MPI_Info info, MPI_Comm comm, void *baseptr, MPI_Win *win);
ROAM_MPI(MPI_Win_free) int MPI_Win_free(MPI_Win *win);
ROAM_MPI(MPI_Win_get_group) int MPI_Win_get_group(MPI_Win win, MPI_Group *group);
ROAM_MPI(MPI_Win_get_attr) int MPI_Win_get_attr(MPI_Win win, int win_keyval, void *attribute_val, int *flag);
ROAM_MPI(MPI_Win_fence) int MPI_Win_fence(int assert, MPI_Win win);
ROAM_MPI(MPI_Win_lock) int MPI_Win_lock(int lock_type, int rank, int assert, MPI_Win win);
ROAM_MPI(MPI_Win_unlock) int MPI_Win_unlock(int rank, MPI_Win win);
ROAM_MPI(MPI_Win_lock_all) int MPI_Win_lock_all(int assert, MPI_Win win);
ROAM_MPI(MPI_Win_unlock_all) int MPI_Win_unlock_all(MPI_Win win);
ROAM_MPI(MPI_Win_flush) int MPI_Win_flush(int rank, MPI_Win win);
ROAM_MPI(MPI_Win_flush_all) int MPI_Win_flush_all(MPI_Win win);
ROAM_MPI(MPI_Win_flush_local) int MPI_Win_flush_local(int rank, MPI_Win win);
ROAM_MPI(MPI_Win_flush_local_all) int MPI_Win_flush_local_all(MPI_Win win);
ROAM_MPI(MPI_Win_sync) int MPI_Win_sync(MPI_Win win);
ROAM_MPI(MPI_Win_post) int MPI_Win_post(MPI_Group group, int assert, MPI_Win win);
ROAM_MPI(MPI_Win_start) int MPI_Win_start(MPI_Group group, int assert, MPI_Win win);
ROAM_MPI(MPI_Win_complete) int MPI_Win_complete(MPI_Win win);
ROAM_MPI(MPI_Win_wait) int MPI_Win_wait(MPI_Win win);
ROAM_MPI(MPI_Win_test) int MPI_Win_test(MPI_Win win, int *flag);
ROAM_MPI(MPI_Put) int MPI_Put(const void *origin_addr, int origin_count, MPI_Datatype origin_datatype, int target_rank, MPI_Aint target_disp, int target_count, MPI_Datatype target_datatype, MPI_Win win);
ROAM_MPI(MPI_Get) int MPI_Get(void *origin_addr, int origin_count, MPI_Datatype origin_datatype, int target_rank, MPI_Aint target_disp, int target_count, MPI_Datatype target_datatype, MPI_Win win);
ROAM_MPI(MPI_Accumulate) int MPI_Accumulate(const void *origin_addr, int origin_count, MPI_Datatype origin_datatype, int target_rank, MPI_Aint target_disp, int target_count, MPI_Datatype target_datatype, MPI_Op op, MPI_Win win);
ROAM_MPI(MPI_Get_accumulate) int MPI_Get_accumulate(const void *origin_addr, int origin_count, MPI_Datatype origin_datatype, void *result_addr, int result_count, MPI_Datatype result_datatype, int target_rank, MPI_Aint target_disp, int target_count, MPI_Datatype target_datatype, MPI_Op op, MPI_Win win);
ROAM_MPI(MPI_Fetch_and_op) int MPI_Fetch_and_op(const void *origin_addr, void *result_addr, MPI_Datatype datatype, int target_rank, MPI_Aint target_disp, MPI_Op op, MPI_Win win);
ROAM_MPI(MPI_Compare_and_swap) int MPI_Compare_and_swap(const void *origin_addr, const void *compare_addr, void *result_addr, MPI_Datatype datatype, int target_rank, MPI_Aint target_disp, MPI_Win win);

ROAM_MPI(MPI_Wtime) double MPI_Wtime(void);
ROAM_MPI(MPI_Wtick) double MPI_Wtick(void);

#ifdef __cplusplus
}
#endif
#endif
