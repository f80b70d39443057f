/* p2p: self-checking exercise of MPI-3.1 point-to-point beyond Send/Recv, on any number of
 * ranks >= 2: send modes (Bsend with an attached buffer, Rsend, Issend, Ibsend, Irsend),
 * persistent requests (Send/Ssend/Bsend/Rsend/Recv_init, Start, Startall), completion
 * (Testany, Testsome, Waitsome, Request_get_status), Cancel/Test_cancelled, matched probes
 * (Mprobe/Improbe/Mrecv/Imrecv), Probe/Iprobe, Sendrecv_replace, Get_elements.
 * Prints "p2p ok: N ranks". */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int right = (rank + 1) % size, left = (rank + size - 1) % size;
  MPI_Status st;
  MPI_Request r[4];

  /* buffered sends: attach, send more than one message, detach waits for them */
  int bsize = 4 * (MPI_BSEND_OVERHEAD + 64);
  char *bbuf = malloc(bsize);
  MPI_Buffer_attach(bbuf, bsize);
  int v[16];
  for (int i = 0; i < 16; i++) v[i] = rank * 100 + i;
  MPI_Bsend(v, 16, MPI_INT, right, 1, MPI_COMM_WORLD);
  MPI_Ibsend(v, 4, MPI_INT, right, 2, MPI_COMM_WORLD, &r[0]);
  MPI_Wait(&r[0], MPI_STATUS_IGNORE);
  int got[16];
  MPI_Recv(got, 16, MPI_INT, left, 1, MPI_COMM_WORLD, &st);
  CHECK(got[0] == left * 100 && got[15] == left * 100 + 15 && st.MPI_SOURCE == left && st.MPI_TAG == 1);
  MPI_Recv(got, 4, MPI_INT, left, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  CHECK(got[3] == left * 100 + 3);
  void *det;
  int dsize;
  MPI_Buffer_detach(&det, &dsize);
  CHECK(det == bbuf && dsize == bsize);

  /* ready and synchronous modes (receives posted first, a barrier between) */
  MPI_Irecv(got, 1, MPI_INT, left, 3, MPI_COMM_WORLD, &r[0]);
  MPI_Irecv(got + 1, 1, MPI_INT, left, 4, MPI_COMM_WORLD, &r[1]);
  MPI_Irecv(got + 2, 1, MPI_INT, left, 5, MPI_COMM_WORLD, &r[2]);
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Rsend(&v[1], 1, MPI_INT, right, 3, MPI_COMM_WORLD);
  MPI_Irsend(&v[2], 1, MPI_INT, right, 4, MPI_COMM_WORLD, &r[3]);
  MPI_Wait(&r[3], MPI_STATUS_IGNORE);
  MPI_Issend(&v[3], 1, MPI_INT, right, 5, MPI_COMM_WORLD, &r[3]);
  int outcount = 0, idx[4], total = 0;
  MPI_Status sts[4];
  while (total < 4) {
    MPI_Waitsome(4, r, &outcount, idx, sts);
    CHECK(outcount >= 1 && outcount != MPI_UNDEFINED);
    total += outcount;
  }
  MPI_Waitsome(4, r, &outcount, idx, sts);
  CHECK(outcount == MPI_UNDEFINED);
  CHECK(got[0] == left * 100 + 1 && got[1] == left * 100 + 2 && got[2] == left * 100 + 3);

  /* persistent requests, restarted several times */
  int sendv = 0, recvv = -1;
  MPI_Send_init(&sendv, 1, MPI_INT, right, 6, MPI_COMM_WORLD, &r[0]);
  MPI_Recv_init(&recvv, 1, MPI_INT, left, 6, MPI_COMM_WORLD, &r[1]);
  for (int k = 0; k < 5; k++) {
    sendv = rank * 10 + k;
    MPI_Startall(2, r);
    MPI_Waitall(2, r, MPI_STATUSES_IGNORE);
    CHECK(recvv == left * 10 + k);
    CHECK(r[0] != MPI_REQUEST_NULL); /* persistent handles stay */
  }
  MPI_Request_free(&r[0]);
  MPI_Request_free(&r[1]);
  MPI_Ssend_init(&sendv, 1, MPI_INT, right, 7, MPI_COMM_WORLD, &r[0]);
  MPI_Rsend_init(&sendv, 1, MPI_INT, right, 8, MPI_COMM_WORLD, &r[2]);
  MPI_Buffer_attach(bbuf, bsize);
  MPI_Bsend_init(&sendv, 1, MPI_INT, right, 9, MPI_COMM_WORLD, &r[3]);
  MPI_Irecv(&got[0], 1, MPI_INT, left, 8, MPI_COMM_WORLD, &r[1]);
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Start(&r[2]);
  MPI_Start(&r[0]);
  MPI_Start(&r[3]);
  MPI_Recv(&got[1], 1, MPI_INT, left, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  MPI_Recv(&got[2], 1, MPI_INT, left, 9, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  MPI_Waitall(4, r, MPI_STATUSES_IGNORE);
  CHECK(got[0] == left * 10 + 4 && got[1] == got[0] && got[2] == got[0]);
  MPI_Request_free(&r[0]); MPI_Request_free(&r[2]); MPI_Request_free(&r[3]);
  MPI_Buffer_detach(&det, &dsize);

  /* Testany / Testsome / Request_get_status */
  MPI_Irecv(&got[0], 1, MPI_INT, left, 10, MPI_COMM_WORLD, &r[0]);
  MPI_Irecv(&got[1], 1, MPI_INT, left, 11, MPI_COMM_WORLD, &r[1]);
  int flag = 0, which = -1;
  MPI_Testany(2, r, &which, &flag, &st);
  CHECK(!flag && which == MPI_UNDEFINED); /* nothing is sent before the barrier */
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Send(&v[4], 1, MPI_INT, right, 11, MPI_COMM_WORLD);
  do MPI_Request_get_status(r[1], &flag, &st); while (!flag);
  do MPI_Testany(2, r, &which, &flag, &st); while (!flag);
  CHECK(which == 1 && st.MPI_TAG == 11 && r[1] == MPI_REQUEST_NULL && got[1] == left * 100 + 4);
  MPI_Barrier(MPI_COMM_WORLD); /* no tag 10 can have come before this */
  MPI_Send(&v[5], 1, MPI_INT, right, 10, MPI_COMM_WORLD);
  outcount = 0;
  while (outcount == 0) MPI_Testsome(2, r, &outcount, idx, sts);
  CHECK(outcount == 1 && idx[0] == 0 && got[0] == left * 100 + 5);

  /* cancel a receive nobody will match */
  MPI_Irecv(got, 1, MPI_INT, left, 999, MPI_COMM_WORLD, &r[0]);
  MPI_Cancel(&r[0]);
  MPI_Wait(&r[0], &st);
  MPI_Test_cancelled(&st, &flag);
  CHECK(flag);

  /* matched probes: the probed message can only go to the Mrecv */
  double d3[3] = {rank + 0.5, rank + 1.5, rank + 2.5}, r3[3];
  MPI_Send(d3, 3, MPI_DOUBLE, right, 12, MPI_COMM_WORLD);
  MPI_Send(d3, 2, MPI_DOUBLE, right, 13, MPI_COMM_WORLD);
  MPI_Message m;
  int cnt;
  MPI_Mprobe(left, 12, MPI_COMM_WORLD, &m, &st);
  MPI_Get_count(&st, MPI_DOUBLE, &cnt);
  CHECK(cnt == 3);
  MPI_Get_elements(&st, MPI_DOUBLE, &cnt);
  CHECK(cnt == 3);
  MPI_Mrecv(r3, 3, MPI_DOUBLE, &m, &st);
  CHECK(m == MPI_MESSAGE_NULL && r3[2] == left + 2.5);
  flag = 0;
  while (!flag) MPI_Improbe(left, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &m, &st);
  CHECK(st.MPI_TAG == 13);
  MPI_Imrecv(r3, 3, MPI_DOUBLE, &m, &r[0]);
  MPI_Wait(&r[0], &st);
  MPI_Get_count(&st, MPI_DOUBLE, &cnt);
  CHECK(cnt == 2 && r3[1] == left + 1.5);
  MPI_Mprobe(MPI_PROC_NULL, 0, MPI_COMM_WORLD, &m, &st);
  CHECK(m == MPI_MESSAGE_NO_PROC && st.MPI_SOURCE == MPI_PROC_NULL);

  /* probe, then sendrecv_replace around the ring */
  MPI_Send(&rank, 1, MPI_INT, right, 14, MPI_COMM_WORLD);
  MPI_Probe(MPI_ANY_SOURCE, 14, MPI_COMM_WORLD, &st);
  CHECK(st.MPI_SOURCE == left);
  MPI_Recv(&cnt, 1, MPI_INT, st.MPI_SOURCE, 14, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  int x = rank;
  MPI_Sendrecv_replace(&x, 1, MPI_INT, right, 15, left, 15, MPI_COMM_WORLD, &st);
  CHECK(x == left && st.MPI_SOURCE == left);

  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) printf("p2p ok: %d ranks\n", size);
  MPI_Finalize();
  return 0;
}
