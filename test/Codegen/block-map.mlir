// A static mask gets its block map at compile time: one byte per (q tile,
// k tile) in the constants section (4 x 4 tiles of 64 here, one layer since
// causal does not depend on the head); a document mask is classified by the
// kernel at run time, so that artifact has no constants.
// RUN: split-file %s %t
// RUN: attune-compile %t/causal.mlir -o %t/c.atm -q
// RUN: attune-compile --print-info %t/c.atm | FileCheck %s --check-prefix=CAUSAL
// RUN: attune-compile %t/doc.mlir -o %t/d.atm -q
// RUN: attune-compile --print-info %t/d.atm | FileCheck %s --check-prefix=DOC

//--- causal.mlir
func.func @f(%q: tensor<1x2x256x32xf32>) -> (tensor<1x2x256x32xf32>, tensor<1x2x256xf32>) {
  %o, %l = attune.attention %q, %q, %q {mask = #attune.causal} : (tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>) -> (tensor<1x2x256x32xf32>, tensor<1x2x256xf32>)
  return %o, %l : tensor<1x2x256x32xf32>, tensor<1x2x256xf32>
}
// CAUSAL: constants offset {{[0-9]+}} size 16 CRC-32C
// CAUSAL: 1 launches

//--- doc.mlir
func.func @f(%q: tensor<1x2x256x32xf32>, %d: tensor<1x256xi32>) -> (tensor<1x2x256x32xf32>, tensor<1x2x256xf32>) {
  %o, %l = attune.attention %q, %q, %q doc(%d, %d) {mask = #attune.and<[#attune.document, #attune.causal]>} : (tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>, tensor<1x256xi32>, tensor<1x256xi32>) -> (tensor<1x2x256x32xf32>, tensor<1x2x256xf32>)
  return %o, %l : tensor<1x2x256x32xf32>, tensor<1x2x256xf32>
}
// DOC-NOT: constants
// DOC: 1 launches
