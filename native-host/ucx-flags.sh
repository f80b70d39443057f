#!/bin/sh
# UCX for the roam_ucx target: --has prints 1 when UCX's headers are installed (Debian libucx-dev),
# --cflags / --libs its flags (pkg-config when it knows ucx). Used by binding.gyp.
case "$1" in
  --has)
    if [ -f /usr/include/ucp/api/ucp.h ] || pkg-config --exists ucx 2>/dev/null; then echo 1; else echo 0; fi ;;
  --cflags)
    pkg-config --cflags ucx 2>/dev/null || true ;;
  --libs)
    pkg-config --libs ucx 2>/dev/null || echo "-lucp -luct -lucs -lucm" ;;
esac
