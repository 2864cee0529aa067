// RegularizedVI's setup rules (regularizedvi.md §2): batch_key fans out to ambient, dispersion and library
// size and conflicts with them; feature scaling defaults to the nn-conditioning keys; every purpose column
// is registered once; the keys survive the model file's string map; N is the trainer's training split.
#include <gtest/gtest.h>

#include "engine/error.h"
#include "tools/workflow/regvi_train.h"

namespace cuvi::test {
namespace {

using workflow::RegviKeys;

TEST(RegviKeys, BatchKeyFansOutAndConflictsWithPurposeKeys) {
  RegviKeys k;
  k.batch_key = "sample";
  const RegviKeys r = k.resolved();
  EXPECT_EQ(r.ambient_covariate_keys, std::vector<std::string>{"sample"});
  EXPECT_EQ(r.dispersion_key, "sample");
  EXPECT_EQ(r.library_size_key, "sample");
  for (int which = 0; which < 3; ++which) {
    RegviKeys bad = k;
    if (which == 0) bad.ambient_covariate_keys = {"lane"};
    if (which == 1) bad.dispersion_key = "lane";
    if (which == 2) bad.library_size_key = "lane";
    try {
      (void)bad.resolved();
      ADD_FAILURE() << "batch_key with a purpose key must fail (" << which << ")";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("batch_key cannot be combined"), std::string::npos) << e.what();
    }
  }
}

TEST(RegviKeys, FeatureScalingDefaultsToNnConditioningAndColumnsRegisterOnce) {
  RegviKeys k;
  k.ambient_covariate_keys = {"sample", "lane"};
  k.dispersion_key = "sample";
  k.library_size_key = "sample";
  k.nn_conditioning_covariate_keys = {"donor", "tech"};
  k.continuous_covariate_keys = {"pct_mito"};
  EXPECT_EQ(k.resolved().feature_scaling_covariate_keys, (std::vector<std::string>{"donor", "tech"}));
  k.feature_scaling_set = true;  // given explicitly (empty): no feature-scaling keys
  EXPECT_TRUE(k.resolved().feature_scaling_covariate_keys.empty());
  const workflow::SetupKeys s = k.setup_keys("counts");
  EXPECT_EQ(s.layer, "counts");
  EXPECT_EQ(s.categorical_covariate_keys, (std::vector<std::string>{"sample", "lane", "donor", "tech"}));
  EXPECT_EQ(s.continuous_covariate_keys, std::vector<std::string>{"pct_mito"});
}

TEST(RegviKeys, RoundTripThroughTheModelFileMap) {
  RegviKeys k;
  k.batch_key = "batch";
  k.nn_conditioning_covariate_keys = {"donor"};
  k.encoder_covariate_keys = {"site"};
  k.size_factor_key = "sf";
  const RegviKeys back = RegviKeys::from_map(k.to_map());
  const RegviKeys r = back.resolved();  // already resolved: no second fan-out, no conflict
  EXPECT_EQ(r.batch_key, "batch");
  EXPECT_EQ(r.ambient_covariate_keys, std::vector<std::string>{"batch"});
  EXPECT_EQ(r.dispersion_key, "batch");
  EXPECT_EQ(r.feature_scaling_covariate_keys, std::vector<std::string>{"donor"});
  EXPECT_EQ(r.encoder_covariate_keys, std::vector<std::string>{"site"});
  EXPECT_EQ(r.size_factor_key, "sf");
}

TEST(RegviKeys, GlobalTermsUseTheTrainersTrainingSplit) {
  TrainConfig tc = workflow::regvi_train_config();
  EXPECT_EQ(workflow::training_set_size(1000, tc), int64_t(split_data(1000, 0, 128, 0).train.size()));
  EXPECT_EQ(workflow::training_set_size(1000, tc), 900);
  tc.validation_cells = {1, 2, 3};
  EXPECT_EQ(workflow::training_set_size(1000, tc), 997);
  EXPECT_EQ(tc.optimizer.eps, 0.01);
  EXPECT_EQ(tc.optimizer.weight_decay, 1e-6);
  EXPECT_EQ(tc.n_epochs_kl_warmup, 400);
  EXPECT_FALSE(tc.restore_best_weights);
}

}  // namespace
}  // namespace cuvi::test
