// Printer for the sluice text format. Writes inferred types on every call
// node, so print(parse(print(g))) == print(g).
#ifndef SLUICE_IR_PRINTER_H_
#define SLUICE_IR_PRINTER_H_

#include <string>
#include <vector>

#include "ir/graph.h"

namespace sluice::ir {

std::string PrintGraph(const Graph& graph);
// Graphs separated by a blank line.
std::string PrintModule(const std::vector<Graph>& graphs);

}  // namespace sluice::ir

#endif  // SLUICE_IR_PRINTER_H_
