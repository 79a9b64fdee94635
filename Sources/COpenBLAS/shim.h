// Debian's libopenblas-dev puts cblas.h under an alternatives directory that pkg-config reports
// (e.g. /usr/include/x86_64-linux-gnu/openblas-pthread/); pkgConfig: "openblas" adds it to the include path.
#include <cblas.h>

// Declared by OpenBLAS but not in cblas.h on every version: the per-process BLAS thread knob.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
