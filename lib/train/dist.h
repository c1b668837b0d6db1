#pragma once
// Data-parallel training across processes with MPI, as llm.c does: every rank holds the whole
// model and optimizer, computes gradients on its own micro-batches, and the gradients are
// summed with MPI_Allreduce before the (identical) update on every rank. Built without MPI,
// or started without mpirun, there is one rank and every call is a no-op.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace gpt::dist {

// Whether this build has MPI (GPT_MPI=AUTO found it, or ON).
bool built_with_mpi();
// Starts MPI when the process was launched by mpirun/srun (a no-op otherwise). A build
// without MPI that finds itself launched as one of several ranks is an error that says so,
// instead of N copies of the same run racing on one output directory.
void init(int* argc, char*** argv);
void finalize();
int rank();
int world();
bool is_root();

// In-place sums over all ranks.
void allreduce_sum(float* data, size_t n);
double allreduce_sum(double v);
// Elementwise over ranks, untimed (evaluation, not the step's gradient exchange). Where each
// element has one contributing rank and zeros elsewhere, the sum is exact, so a result
// assembled from it does not depend on the number of ranks.
void allreduce_sum(std::vector<double>& v);
int allreduce_max(int v);
// Rank r's block of n elements split into world() contiguous blocks: [n*r/W, n*(r+1)/W).
struct Block { int64_t lo, hi; };
Block block(int64_t n, int r);
// In place: every rank contributes its own block (block(n, rank())) of data and receives the
// others' (ZeRO-1's parameter exchange after a sharded optimizer step).
void allgather_blocks(float* data, int64_t n);
// Seconds this rank has spent in allreduce_sum(float*) so far (the scaling benchmark's
// communication time per step).
double allreduce_seconds();
// Ends every rank of the job: an error on one rank must not leave the others waiting forever
// in a collective.
[[noreturn]] void abort(int code);

}  // namespace gpt::dist
