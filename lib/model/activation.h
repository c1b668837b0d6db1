#pragma once
// The MLP's activation, apart from config.h so nvcc (C++17) can include it.
namespace gpt {
enum class Activation { GeluTanh, Gelu, Tanh, Relu };
}  // namespace gpt
