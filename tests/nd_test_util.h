// Helpers of the N-D (ONNX) op tests: the RowGather a backend call takes (N-D ops gather no
// embedding rows).
#pragma once
#include <gtest/gtest.h>

#include "graph/backend.h"

namespace edgerun::test {

class NoRows final : public RowGather {
 public:
  uint64_t row_staging_bytes(SlotId) const override { return 0; }
  void gather_rows(SlotId, const int64_t*, int64_t, float*, void*) override { ADD_FAILURE() << "no rows to gather"; }
};

}  // namespace edgerun::test
