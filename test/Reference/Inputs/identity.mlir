// Helper module for weights.mlir: returns its input, to read a written .npy back.
func.func @identity(%x: tensor<3x2xf32> {attune.name = "x"}) -> (tensor<3x2xf32> {attune.name = "y"}) {
  %y = attune.reshape %x : tensor<3x2xf32> to tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
