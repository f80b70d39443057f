/* coverage: self-checking exercise of the MPI calls roam provides. Run on 4 ranks; prints
 * "coverage ok" on rank 0, or names the failed check and exits 1. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* user op: element-wise max of absolute values, for MPI_INT */
static void absmax(void *in, void *inout, int *len, MPI_Datatype *dt) {
  int *a = in, *b = inout;
  (void)dt;
  for (int i = 0; i < *len; i++) {
    int x = a[i] < 0 ? -a[i] : a[i], y = b[i] < 0 ? -b[i] : b[i];
    b[i] = x > y ? x : y;
  }
}
/* non-commutative user op: string-like concatenation as base-10 digits (checks rank order) */
static void concat(void *in, void *inout, int *len, MPI_Datatype *dt) {
  long long *a = in, *b = inout;
  (void)dt;
  for (int i = 0; i < *len; i++) {
    long long p = 10;
    while (p <= b[i]) p *= 10;
    b[i] = a[i] * p + b[i];
  }
}

int main(int argc, char **argv) {
  int flag = 0, provided;
  MPI_Initialized(&flag);
  CHECK(!flag);
  MPI_Init_thread(&argc, &argv, MPI_THREAD_SINGLE, &provided);
  MPI_Initialized(&flag);
  CHECK(flag);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  CHECK(size == 4);
  int v, sv;
  MPI_Get_version(&v, &sv);
  CHECK(v == 5);
  char name[MPI_MAX_PROCESSOR_NAME];
  int nlen;
  MPI_Get_processor_name(name, &nlen);
  CHECK(nlen > 0 && (int)strlen(name) == nlen);
  double t0 = MPI_Wtime();
  CHECK(MPI_Wtick() > 0);

  /* point to point: nonblocking ring with Waitall, any-source with status */
  int next = (rank + 1) % size, prev = (rank + size - 1) % size;
  int out = rank * 10, in = -1;
  MPI_Request rq[2];
  MPI_Status st[2];
  MPI_Irecv(&in, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &rq[0]);
  MPI_Isend(&out, 1, MPI_INT, next, 5, MPI_COMM_WORLD, &rq[1]);
  MPI_Waitall(2, rq, st);
  CHECK(in == prev * 10 && st[0].MPI_SOURCE == prev && st[0].MPI_TAG == 5);
  CHECK(rq[0] == MPI_REQUEST_NULL && rq[1] == MPI_REQUEST_NULL);
  int cnt;
  MPI_Get_count(&st[0], MPI_INT, &cnt);
  CHECK(cnt == 1);
  MPI_Get_count(&st[0], MPI_DOUBLE, &cnt);
  CHECK(cnt == MPI_UNDEFINED);

  /* Probe / Iprobe / Get_count, Ssend, tags out of order */
  if (rank == 0) {
    int a[3] = {1, 2, 3}, b = 9;
    MPI_Send(a, 3, MPI_INT, 1, 11, MPI_COMM_WORLD);
    MPI_Ssend(&b, 1, MPI_INT, 1, 12, MPI_COMM_WORLD);
  } else if (rank == 1) {
    MPI_Status s;
    int b = 0, a[3] = {0};
    MPI_Recv(&b, 1, MPI_INT, 0, 12, MPI_COMM_WORLD, &s); /* overtakes tag 11 by matching */
    CHECK(b == 9);
    MPI_Probe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &s);
    CHECK(s.MPI_TAG == 11);
    MPI_Get_count(&s, MPI_INT, &cnt);
    CHECK(cnt == 3);
    int f = 0;
    MPI_Iprobe(0, 11, MPI_COMM_WORLD, &f, MPI_STATUS_IGNORE);
    CHECK(f);
    MPI_Recv(a, 3, MPI_INT, 0, 11, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    CHECK(a[2] == 3);
    MPI_Iprobe(0, 11, MPI_COMM_WORLD, &f, MPI_STATUS_IGNORE); /* other tags may already be in flight */
    CHECK(!f);
  }

  /* Waitany / Test / Testall / Request_free / PROC_NULL */
  {
    int x = rank, y[2] = {-1, -1};
    MPI_Request r[3];
    MPI_Irecv(&y[0], 1, MPI_INT, prev, 20, MPI_COMM_WORLD, &r[0]);
    MPI_Irecv(&y[1], 1, MPI_INT, MPI_PROC_NULL, 20, MPI_COMM_WORLD, &r[1]);
    MPI_Isend(&x, 1, MPI_INT, next, 20, MPI_COMM_WORLD, &r[2]);
    int idx, done = 0;
    MPI_Status s;
    for (int k = 0; k < 3; k++) {
      MPI_Waitany(3, r, &idx, &s);
      CHECK(idx >= 0 && idx < 3 && r[idx] == MPI_REQUEST_NULL);
      done++;
    }
    MPI_Waitany(3, r, &idx, &s);
    CHECK(idx == MPI_UNDEFINED && done == 3);
    CHECK(y[0] == prev && y[1] == -1);
    MPI_Request t;
    int f = 0;
    MPI_Isend(&x, 1, MPI_INT, next, 21, MPI_COMM_WORLD, &t);
    MPI_Request_free(&t);
    CHECK(t == MPI_REQUEST_NULL);
    MPI_Irecv(&y[0], 1, MPI_INT, prev, 21, MPI_COMM_WORLD, &t);
    while (!f) MPI_Test(&t, &f, MPI_STATUS_IGNORE);
    CHECK(y[0] == prev);
    MPI_Request two[2];
    MPI_Irecv(&y[0], 1, MPI_INT, prev, 22, MPI_COMM_WORLD, &two[0]);
    MPI_Isend(&x, 1, MPI_INT, next, 22, MPI_COMM_WORLD, &two[1]);
    f = 0;
    while (!f) MPI_Testall(2, two, &f, MPI_STATUSES_IGNORE);
    CHECK(y[0] == prev);
  }

  /* Sendrecv, Sendrecv_replace */
  {
    int s = rank, r = -1;
    MPI_Sendrecv(&s, 1, MPI_INT, next, 30, &r, 1, MPI_INT, prev, 30, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    CHECK(r == prev);
    int b = rank * 3;
    MPI_Sendrecv_replace(&b, 1, MPI_INT, next, 31, prev, 31, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    CHECK(b == prev * 3);
  }

  /* collectives */
  {
    MPI_Barrier(MPI_COMM_WORLD);
    double d[2] = {0, 0};
    if (rank == 2) d[0] = 1.5, d[1] = -2;
    MPI_Bcast(d, 2, MPI_DOUBLE, 2, MPI_COMM_WORLD);
    CHECK(d[0] == 1.5 && d[1] == -2);
    int x = rank + 1, sum = 0, prod = 0;
    MPI_Reduce(&x, &sum, 1, MPI_INT, MPI_SUM, 3, MPI_COMM_WORLD);
    if (rank == 3) CHECK(sum == 10);
    MPI_Allreduce(&x, &prod, 1, MPI_INT, MPI_PROD, MPI_COMM_WORLD);
    CHECK(prod == 24);
    int ip = rank;
    MPI_Allreduce(MPI_IN_PLACE, &ip, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    CHECK(ip == 3);
    long long bits = 1LL << rank, ball = 0;
    MPI_Allreduce(&bits, &ball, 1, MPI_LONG_LONG, MPI_BOR, MPI_COMM_WORLD);
    CHECK(ball == 15);
    float f = (float)rank, fmin;
    MPI_Allreduce(&f, &fmin, 1, MPI_FLOAT, MPI_MIN, MPI_COMM_WORLD);
    CHECK(fmin == 0.0f);
    int g[4] = {-1, -1, -1, -1};
    MPI_Gather(&x, 1, MPI_INT, g, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (rank == 0) CHECK(g[0] == 1 && g[3] == 4);
    int rc[4] = {1, 2, 1, 2}, dsp[4] = {0, 1, 3, 4}, gv[6] = {0}, two[2] = {rank, rank};
    MPI_Gatherv(two, rc[rank], MPI_INT, gv, rc, dsp, MPI_INT, 1, MPI_COMM_WORLD);
    if (rank == 1) CHECK(gv[0] == 0 && gv[1] == 1 && gv[2] == 1 && gv[3] == 2 && gv[4] == 3 && gv[5] == 3);
    int sc[4] = {10, 20, 30, 40}, got = 0;
    MPI_Scatter(sc, 1, MPI_INT, &got, 1, MPI_INT, 0, MPI_COMM_WORLD);
    CHECK(got == 10 * (rank + 1));
    int sv[6] = {5, 6, 6, 7, 8, 8}, svr[2] = {0, 0};
    MPI_Scatterv(sv, rc, dsp, MPI_INT, svr, rc[rank], MPI_INT, 3, MPI_COMM_WORLD);
    CHECK(svr[0] == sv[dsp[rank]]);
    int all[4];
    MPI_Allgather(&rank, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD);
    CHECK(all[0] == 0 && all[3] == 3);
    int agv[6] = {0};
    MPI_Allgatherv(two, rc[rank], MPI_INT, agv, rc, dsp, MPI_INT, MPI_COMM_WORLD);
    CHECK(agv[1] == 1 && agv[2] == 1 && agv[5] == 3);
    int a2a[4], a2ar[4];
    for (int i = 0; i < 4; i++) a2a[i] = rank * 100 + i;
    MPI_Alltoall(a2a, 1, MPI_INT, a2ar, 1, MPI_INT, MPI_COMM_WORLD);
    for (int i = 0; i < 4; i++) CHECK(a2ar[i] == i * 100 + rank);
    /* alltoallv: rank r sends r+1 ints to everyone */
    int scnt[4], sdsp[4], rcnt[4], rdsp[4], sbuf[16], rbuf[16];
    for (int i = 0; i < 4; i++) scnt[i] = rank + 1, sdsp[i] = i * 4, rcnt[i] = i + 1, rdsp[i] = i * 4;
    for (int i = 0; i < 16; i++) sbuf[i] = rank, rbuf[i] = -1;
    MPI_Alltoallv(sbuf, scnt, sdsp, MPI_INT, rbuf, rcnt, rdsp, MPI_INT, MPI_COMM_WORLD);
    for (int i = 0; i < 4; i++) CHECK(rbuf[i * 4] == i && rbuf[i * 4 + i] == i && (i == 3 || rbuf[i * 4 + i + 1] == -1));
    int rsin[4] = {1, 2, 3, 4}, rsout = 0, rscnt[4] = {1, 1, 1, 1};
    MPI_Reduce_scatter(rsin, &rsout, rscnt, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    CHECK(rsout == 4 * (rank + 1));
    int scan = 0, exscan = -7;
    MPI_Scan(&x, &scan, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    CHECK(scan == (rank + 1) * (rank + 2) / 2);
    MPI_Exscan(&x, &exscan, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank > 0) CHECK(exscan == rank * (rank + 1) / 2);
    /* MAXLOC / MINLOC */
    struct { double v; int i; } dl = {rank == 2 ? 9.0 : (double)rank, rank}, dlr;
    MPI_Allreduce(&dl, &dlr, 1, MPI_DOUBLE_INT, MPI_MAXLOC, MPI_COMM_WORLD);
    CHECK(dlr.v == 9.0 && dlr.i == 2);
    struct { int v; int i; } il = {rank % 2, rank}, ilr;
    MPI_Allreduce(&il, &ilr, 1, MPI_2INT, MPI_MINLOC, MPI_COMM_WORLD);
    CHECK(ilr.v == 0 && ilr.i == 0);
    /* user ops (callbacks into the guest's function table) */
    MPI_Op op, nc;
    MPI_Op_create(absmax, 1, &op);
    int sgn[2] = {rank % 2 ? -(rank * 10) : rank, 1}, res[2];
    MPI_Allreduce(sgn, res, 2, MPI_INT, op, MPI_COMM_WORLD);
    CHECK(res[0] == 30 && res[1] == 1);
    MPI_Op_free(&op);
    CHECK(op == MPI_OP_NULL);
    MPI_Op_create(concat, 0, &nc);
    long long digit = rank + 1, cat = 0;
    MPI_Reduce(&digit, &cat, 1, MPI_LONG_LONG, nc, 0, MPI_COMM_WORLD);
    if (rank == 0) CHECK(cat == 1234);
    MPI_Op_free(&nc);
  }

  /* communicators and groups */
  {
    MPI_Comm dup, half;
    int res;
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    MPI_Comm_compare(MPI_COMM_WORLD, dup, &res);
    CHECK(res == MPI_CONGRUENT);
    MPI_Comm_compare(dup, dup, &res);
    CHECK(res == MPI_IDENT);
    /* traffic on dup does not match traffic on world */
    int a = rank, b = -1, c = -1;
    MPI_Request r[4];
    MPI_Irecv(&b, 1, MPI_INT, prev, 40, dup, &r[0]);
    MPI_Irecv(&c, 1, MPI_INT, prev, 40, MPI_COMM_WORLD, &r[1]);
    int w = 1000 + rank;
    MPI_Isend(&w, 1, MPI_INT, next, 40, MPI_COMM_WORLD, &r[2]);
    MPI_Isend(&a, 1, MPI_INT, next, 40, dup, &r[3]);
    MPI_Waitall(4, r, MPI_STATUSES_IGNORE);
    CHECK(b == prev && c == 1000 + prev);
    MPI_Comm_split(MPI_COMM_WORLD, rank % 2, -rank, &half); /* reversed order by key */
    int hr, hs;
    MPI_Comm_rank(half, &hr);
    MPI_Comm_size(half, &hs);
    CHECK(hs == 2 && hr == (rank < 2 ? 1 : 0));
    int hsum = 0;
    MPI_Allreduce(&rank, &hsum, 1, MPI_INT, MPI_SUM, half);
    CHECK(hsum == (rank % 2 ? 4 : 2));
    MPI_Comm_compare(MPI_COMM_WORLD, half, &res);
    CHECK(res == MPI_UNEQUAL);
    MPI_Comm none;
    MPI_Comm_split(MPI_COMM_WORLD, rank == 0 ? 0 : MPI_UNDEFINED, 0, &none);
    CHECK(rank == 0 ? none != MPI_COMM_NULL : none == MPI_COMM_NULL);
    if (none != MPI_COMM_NULL) MPI_Comm_free(&none);
    MPI_Group wg, hg, sub;
    MPI_Comm_group(MPI_COMM_WORLD, &wg);
    MPI_Comm_group(half, &hg);
    int in3[2] = {3, 1}, tr[2];
    MPI_Group_incl(wg, 2, in3, &sub);
    int gs;
    MPI_Group_size(sub, &gs);
    CHECK(gs == 2);
    int zero_one[2] = {0, 1};
    MPI_Group_translate_ranks(sub, 2, zero_one, wg, tr);
    CHECK(tr[0] == 3 && tr[1] == 1);
    MPI_Group_translate_ranks(hg, 1, zero_one, wg, tr);
    CHECK(tr[0] == (rank % 2 ? 3 : 2));
    MPI_Comm sc;
    MPI_Comm_create(MPI_COMM_WORLD, sub, &sc);
    if (rank == 3 || rank == 1) {
      int sr;
      MPI_Comm_rank(sc, &sr);
      CHECK(sr == (rank == 3 ? 0 : 1));
      MPI_Comm_free(&sc);
    } else CHECK(sc == MPI_COMM_NULL);
    MPI_Group_free(&sub);
    MPI_Group_free(&hg);
    MPI_Group_free(&wg);
    CHECK(wg == MPI_GROUP_NULL);
    MPI_Comm_free(&half);
    MPI_Comm_free(&dup);
    CHECK(dup == MPI_COMM_NULL);
  }

  /* derived datatypes */
  {
    MPI_Datatype pair, col;
    MPI_Type_contiguous(2, MPI_INT, &pair);
    MPI_Type_commit(&pair);
    int sz;
    MPI_Aint lb, ext;
    MPI_Type_size(pair, &sz);
    MPI_Type_get_extent(pair, &lb, &ext);
    CHECK(sz == 8 && lb == 0 && ext == 8);
    int m[3][3], colv[3] = {0};
    for (int i = 0; i < 9; i++) m[i / 3][i % 3] = rank * 100 + i;
    MPI_Type_vector(3, 1, 3, MPI_INT, &col);
    MPI_Type_commit(&col);
    MPI_Type_size(col, &sz);
    MPI_Type_get_extent(col, &lb, &ext);
    CHECK(sz == 12 && ext == 28);
    /* send column 1 of my matrix as a vector, receive it contiguous */
    MPI_Sendrecv(&m[0][1], 1, col, next, 50, colv, 3, MPI_INT, prev, 50, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    CHECK(colv[0] == prev * 100 + 1 && colv[1] == prev * 100 + 4 && colv[2] == prev * 100 + 7);
    /* receive contiguous into a column */
    int cols[3] = {rank, rank + 1, rank + 2};
    MPI_Sendrecv(cols, 3, MPI_INT, next, 51, &m[0][2], 1, col, prev, 51, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    CHECK(m[0][2] == prev && m[1][2] == prev + 1 && m[2][2] == prev + 2 && m[0][1] == rank * 100 + 1);
    int pv[4] = {rank, rank, rank, rank}, ps[4];
    MPI_Allreduce(pv, ps, 2, pair, MPI_SUM, MPI_COMM_WORLD);
    CHECK(ps[0] == 6 && ps[3] == 6);
    MPI_Type_free(&pair);
    MPI_Type_free(&col);
    CHECK(col == MPI_DATATYPE_NULL);
  }
  CHECK(MPI_Wtime() >= t0);
  MPI_Finalized(&flag);
  CHECK(!flag);
  MPI_Finalize();
  MPI_Finalized(&flag);
  CHECK(flag);
  if (rank == 0) printf("coverage ok\n");
  return 0;
}
