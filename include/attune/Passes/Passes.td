//===- Passes.td - Attune graph passes ---------------------*- tablegen -*-===//

#ifndef ATTUNE_PASSES_TD
#define ATTUNE_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttuneInferShapes : Pass<"attune-infer-shapes", "::mlir::ModuleOp"> {
  let summary = "Refines attune result types to what their operands imply";
  let description = [{
    Every attune op infers its result types from its operands, and accepts
    results that are less static than that (a model imported with `?`
    dimensions). Once the inputs are known, this pass makes the results as
    static as the operands allow, in program order, and updates the result
    types of functions (and of their calls) to what they return, repeating
    until nothing changes. Types only ever become more static. A use that
    cannot take the refined type (an op of another dialect, a call argument,
    an attune op whose types are not inferred) receives a `tensor.cast` back
    to the type it had. Results of `attune.checkpoint` and `attune.chunked`
    keep their declared types.

    Before:
    ```mlir
    func.func @f(%x: tensor<2x8xf32>, %w: tensor<8xf32>) -> tensor<?x8xf32> {
      %y = attune.rms_norm %x weight %w
        : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
      return %y : tensor<?x8xf32>
    }
    ```
    After:
    ```mlir
    func.func @f(%x: tensor<2x8xf32>, %w: tensor<8xf32>) -> tensor<2x8xf32> {
      %y = attune.rms_norm %x weight %w
        : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
      return %y : tensor<2x8xf32>
    }
    ```
  }];
  let dependentDialects = ["::mlir::attune::AttuneDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // ATTUNE_PASSES_TD
