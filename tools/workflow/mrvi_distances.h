// MRVI local sample distances (spec/mrvi.md §5 get_local_sample_distances / compute_local_statistics),
// streamed per minibatch: per cell an S x S matrix of distances between its counterfactual sample
// representations (l2, l1 or linf; posterior means, Monte Carlo draws, or normalised by the cell's own
// sample's spread), written per cell on request and averaged per category of each groupby key.
// Memory is bounded by the minibatch: no N x S x S array is ever held.
#pragma once
#include <string>
#include <vector>

#include "io/netcdf_writer.h"
#include "tools/workflow/mrvi_session.h"

namespace cuvi::workflow {

struct DistanceOptions {
  std::string norm = "l2";          // l2 | l1 | linf
  bool use_mean = true;             // mean representations; false: mc_samples draws ("mc_sample" dimension)
  bool normalize = false;           // (d - mu_n) / sigma_n averaged over draws (l2 only; implies draws)
  int64_t mc_samples = 10;
  std::vector<std::string> groupby; // obs keys; one variable per key
  bool keep_cell = true;            // variable "cell" with one matrix per cell
  int64_t max_rows = 4096;          // rows of one counterfactual pass
  uint64_t seed = 0;
};

// Output bytes of the per-cell variable, for the size warning.
double cell_distance_bytes(int64_t n_cells, int64_t n_samples, const DistanceOptions& opt);

// The averaged matrices of one groupby key (what sample clustering consumes).
struct GroupDistances {
  std::string key;
  std::vector<std::string> names;  // {key}_name coordinate: value_counts() order
  std::vector<float> values;       // (groups, [mc,] S, S)
};

// Writes coordinates and variables into `out` (cell_name, sample_x, sample_y, [mc_sample], {key}_name)
// and returns the grouped averages.
std::vector<GroupDistances> local_sample_distances(MrviSession& session, const PreparedData& data,
                                                   const DistanceOptions& opt, io::NetcdfWriter& out);

// One cell's S x S distances between the rows of z (S, L), written to d (S, S).
void sample_distance_matrix(const float* z,  // (S, L)
                            int64_t S, int64_t L, const std::string& norm,
                            float* d);  // (S, S)

}  // namespace cuvi::workflow
