#include "train/dist.h"

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "core/error.h"
#include "core/timer.h"

#ifdef GPT_HAVE_MPI
#include <mpi.h>
#endif

namespace gpt::dist {
namespace {

int g_rank = 0, g_world = 1;
bool g_started = false;
double g_allreduce_s = 0;

// The launchers' environment: Open MPI, MPICH/Intel MPI (PMI), PMIx and Slurm.
int launched_world() {
  for (const char* k : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS"})
    if (const char* v = std::getenv(k)) return std::max(1, std::atoi(v));
  return 1;
}

}  // namespace

#ifdef GPT_HAVE_MPI

bool built_with_mpi() { return true; }

void init(int* argc, char*** argv) {
  if (launched_world() <= 1 && !std::getenv("OMPI_COMM_WORLD_RANK") && !std::getenv("PMI_RANK")) return;
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  g_started = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_world);
}

void finalize() {
  if (g_started) MPI_Finalize();
  g_started = false;
}

void allreduce_sum(float* data, size_t n) {
  if (g_world == 1) return;
  const double t0 = now_s();
  for (size_t i = 0; i < n; i += size_t(INT_MAX)) {
    const int c = int(std::min(n - i, size_t(INT_MAX)));
    MPI_Allreduce(MPI_IN_PLACE, data + i, c, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  }
  g_allreduce_s += now_s() - t0;
}

double allreduce_sum(double v) {
  if (g_world > 1) MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  return v;
}

void allreduce_sum(std::vector<double>& v) {
  if (g_world > 1) MPI_Allreduce(MPI_IN_PLACE, v.data(), int(v.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

void allgather_blocks(float* data, int64_t n) {
  if (g_world == 1) return;
  check(n <= INT_MAX, "allgather_blocks: {} values exceed MPI's int counts", n);
  std::vector<int> counts(static_cast<size_t>(g_world)), displs(static_cast<size_t>(g_world));
  for (int r = 0; r < g_world; ++r) {
    const Block b = block(n, r);
    counts[size_t(r)] = int(b.hi - b.lo);
    displs[size_t(r)] = int(b.lo);
  }
  const double t0 = now_s();
  MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, counts.data(), displs.data(), MPI_FLOAT, MPI_COMM_WORLD);
  g_allreduce_s += now_s() - t0;
}

int allreduce_max(int v) {
  if (g_world > 1) MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return v;
}

void abort(int code) {
  if (g_started && g_world > 1) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

#else

bool built_with_mpi() { return false; }

void init(int*, char***) {
  const int w = launched_world();
  check(w <= 1, "this process is one of {} ranks started by mpirun, but this gptkit was built without MPI: "
        "install libopenmpi-dev (apt-get) and rebuild (cmake -DGPT_MPI=ON), or run without mpirun", w);
}
void finalize() {}
void allreduce_sum(float*, size_t) {}
double allreduce_sum(double v) { return v; }
void allreduce_sum(std::vector<double>&) {}
void allgather_blocks(float*, int64_t) {}
int allreduce_max(int v) { return v; }
void abort(int code) { std::exit(code); }

#endif

Block block(int64_t n, int r) { return {n * r / g_world, n * (r + 1) / g_world}; }
int rank() { return g_rank; }
int world() { return g_world; }
bool is_root() { return g_rank == 0; }
double allreduce_seconds() { return g_allreduce_s; }

}  // namespace gpt::dist
