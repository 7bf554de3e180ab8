// A C++ builder for graphs, used by tests, the FX bridge and passes that
// rebuild graphs. Errors are sticky: the first one is kept, later calls
// become no-ops returning null, and Build() reports it. So test code can
// chain calls without checking each one.
//
//   GraphBuilder b("foo");
//   Node* x = b.Input("x", {DType::kF32, {10}});
//   Node* y = b.Input("y", {DType::kF32, {10}});
//   Node* a = b.Call("add", {x, y}, {}, /*meta=*/{{"should_fallback", true}});
//   b.Return({b.Call("mul", {a, Scalar::Float(2.0)})});
//   absl::StatusOr<Graph> g = b.Build();
#ifndef SLUICE_IR_BUILDER_H_
#define SLUICE_IR_BUILDER_H_

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ir/graph.h"

namespace sluice::ir {

class GraphBuilder {
 public:
  using KeyValues = std::vector<std::pair<std::string, AttrValue>>;

  explicit GraphBuilder(std::string graph_name = "main");

  Node* Input(absl::string_view name, TensorType type);
  // A call node; `name` empty makes up a fresh one.
  Node* Call(absl::string_view op, std::vector<Operand> operands,
             const KeyValues& attrs = {}, const KeyValues& meta = {},
             absl::string_view name = "");
  // Appends a fully specified call (used when copying nodes between graphs).
  Node* Add(CallSpec spec);
  void Return(std::vector<Node*> outputs);

  const absl::Status& status() const { return status_; }
  Graph& graph() { return graph_; }

  // Verifies and hands out the graph; the builder is spent afterwards.
  absl::StatusOr<Graph> Build();

 private:
  Graph graph_;
  absl::Status status_;
  bool returned_ = false;
};

}  // namespace sluice::ir

#endif  // SLUICE_IR_BUILDER_H_
