//===- TensorTestUtil.h - Comparisons shared by the unit tests --*- C++ -*-===//

#ifndef ATTUNE_TEST_UNIT_TENSORTESTUTIL_H
#define ATTUNE_TEST_UNIT_TENSORTESTUTIL_H

#include "attune/Reference/Kernels.h"

#include <cmath>
#include <limits>

namespace attune::ref::testing {

/// max |a - b| over elements. Equal values (equal infinities included) count
/// as 0; a NaN on either side, unequal infinities or a shape mismatch give
/// +inf, so that `maxAbsDiff(x, y) < tol` can never pass by accident.
inline double maxAbsDiff(const RefTensor &a, const RefTensor &b) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  if (a.shape != b.shape || a.data.size() != b.data.size())
    return inf;
  double m = 0;
  for (size_t i = 0; i < a.data.size(); ++i) {
    double x = a.data[i], y = b.data[i];
    if (std::isnan(x) || std::isnan(y))
      return inf;
    if (x == y)
      continue;
    double d = std::fabs(x - y);
    if (std::isnan(d)) // opposite infinities
      return inf;
    m = std::max(m, d);
  }
  return m;
}

} // namespace attune::ref::testing

#endif // ATTUNE_TEST_UNIT_TENSORTESTUTIL_H
