// The chi-squared distribution's survival function, shared by the analyses that test against it
// (MRVI's counterfactual DE, kBET).
#pragma once

namespace cuvi::workflow {

// P(X > x) for X ~ chi^2(df): the regularised upper incomplete gamma Q(df / 2, x / 2); 1 for x <= 0.
double chi2_sf(double x, double df);

}  // namespace cuvi::workflow
