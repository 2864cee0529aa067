// The chi-squared survival function shared by MRVI's DE p-values and kBET, against scipy.stats.chi2.sf
// on both sides of the series / continued-fraction switch (x / 2 below and above df / 2 + 1).
#include <gtest/gtest.h>

#include <cmath>

#include "tools/workflow/chi2.h"

namespace cuvi::test {
namespace {

TEST(Chi2, SurvivalFunctionMatchesScipy) {
  struct Case {
    double x, df, scipy;  // scipy.stats.chi2.sf(x, df), scipy 1.17
  };
  const Case cases[] = {{3.841458820694124, 1, 0.04999999999999989}, {1.0, 4, 0.9097959895689501},
                        {20.0, 5, 0.0012497305630313773},            {0.5, 10, 0.999993388289439},
                        {150.0, 100, 0.0009039320423540184},         {1e-3, 2, 0.9995001249791693},
                        {60.0, 3, 5.878230727906921e-13}};
  for (const Case& c : cases)  // relative: both sides are double computations of a smooth function
    EXPECT_NEAR(workflow::chi2_sf(c.x, c.df), c.scipy, 1e-12 * c.scipy) << "x " << c.x << " df " << c.df;
  EXPECT_EQ(workflow::chi2_sf(0.0, 3), 1.0);
  EXPECT_EQ(workflow::chi2_sf(-1.0, 3), 1.0);
  EXPECT_EQ(workflow::chi2_sf(INFINITY, 3), 0.0);
  EXPECT_TRUE(std::isnan(workflow::chi2_sf(NAN, 3)));
}

}  // namespace
}  // namespace cuvi::test
