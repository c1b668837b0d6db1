// The configs/hardware/*.json files, compiled in so gpt-intensity needs no data directory.
// tests/test_intensity.cpp fails if this drifts from the files: paste a changed file here.
#include "analysis/hardware.h"

namespace gpt::analysis {

const std::map<std::string, std::string>& builtin_hardware_json() {
  static const std::map<std::string, std::string> m = {
      {"a100-40gb", R"JSON({
  "name": "a100-40gb",
  "description": "NVIDIA A100 40GB (SXM4 or PCIe)",
  "memory_gb": 40,
  "memory_bandwidth_gb_s": 1555,
  "peak_tflops": {"fp32": 19.5, "tf32": 156, "bf16": 312, "fp16": 312, "int8": 624},
  "default_dtype": "bf16",
  "sources": {
    "peak_tflops": "NVIDIA A100 Tensor Core GPU datasheet (nvidia.com/en-us/data-center/a100), dense figures (the datasheet's starred numbers are with 2:4 sparsity and are halved here)",
    "memory": "same datasheet: A100 40GB, HBM2, 1,555 GB/s"
  }
}
)JSON"},
      {"a100-80gb-sxm", R"JSON({
  "name": "a100-80gb-sxm",
  "description": "NVIDIA A100 80GB SXM4",
  "memory_gb": 80,
  "memory_bandwidth_gb_s": 2039,
  "peak_tflops": {"fp32": 19.5, "tf32": 156, "bf16": 312, "fp16": 312, "int8": 624},
  "default_dtype": "bf16",
  "sources": {
    "peak_tflops": "NVIDIA A100 Tensor Core GPU datasheet (nvidia.com/en-us/data-center/a100), dense figures (sparsity numbers halved)",
    "memory": "same datasheet: A100 80GB SXM, HBM2e, 2,039 GB/s"
  }
}
)JSON"},
      {"a100-80gb", R"JSON({
  "name": "a100-80gb",
  "description": "NVIDIA A100 80GB PCIe",
  "memory_gb": 80,
  "memory_bandwidth_gb_s": 1935,
  "peak_tflops": {"fp32": 19.5, "tf32": 156, "bf16": 312, "fp16": 312, "int8": 624},
  "default_dtype": "bf16",
  "sources": {
    "peak_tflops": "NVIDIA A100 Tensor Core GPU datasheet (nvidia.com/en-us/data-center/a100), dense figures (sparsity numbers halved)",
    "memory": "same datasheet: A100 80GB PCIe, HBM2e, 1,935 GB/s; this is the figure the CS229S lecture uses (ridge 312/1.935 = 161 FLOP/byte)"
  },
  "notes": "The SXM4 board has 2,039 GB/s: see a100-80gb-sxm."
}
)JSON"},
      {"cpu", R"JSON({
  "name": "cpu",
  "description": "2-vCPU AMD EPYC (Zen 3, AVX2 + FMA) VM, the project's CI-class machine",
  "memory_gb": 25,
  "memory_bandwidth_gb_s": 19,
  "peak_tflops": {"fp32": 0.1568},
  "default_dtype": "fp32",
  "sources": {
    "peak_tflops": "nominal: 2 cores x 2 FMA pipes x 8 fp32 lanes x 2 FLOPs x 2.45 GHz (the TSC clock /proc/cpuinfo reports; Zen 3 boost is higher)",
    "memory_bandwidth_gb_s": "measured on this machine class with `gpt-intensity roofline --measure` (parallel copy of 128 MiB arrays, bytes read + written), 2 threads, 2026-11-26: 17.5-19.5 GB/s over 8 runs; the same runs measured an sgemm peak of 135-142 GFLOP/s",
    "memory_gb": "MemTotal of the CI-class VM"
  },
  "notes": "A VM shares its memory system with its neighbours, so bandwidth varies run to run. For your own machine run `gpt-intensity roofline --measure`, which writes cpu-local.json."
}
)JSON"},
      {"h100-pcie", R"JSON({
  "name": "h100-pcie",
  "description": "NVIDIA H100 PCIe 80GB",
  "memory_gb": 80,
  "memory_bandwidth_gb_s": 2000,
  "peak_tflops": {"fp32": 51, "tf32": 378, "bf16": 756, "fp16": 756, "fp8": 1513, "int8": 1513},
  "default_dtype": "bf16",
  "sources": {
    "peak_tflops": "NVIDIA H100 Tensor Core GPU Architecture whitepaper (Hopper), H100 PCIe dense tensor-core figures; the datasheet (nvidia.com/en-us/data-center/h100) lists twice these with sparsity",
    "memory": "H100 datasheet: H100 PCIe 80 GB HBM2e, 2 TB/s"
  }
}
)JSON"},
      {"h100-sxm", R"JSON({
  "name": "h100-sxm",
  "description": "NVIDIA H100 SXM5 80GB",
  "memory_gb": 80,
  "memory_bandwidth_gb_s": 3350,
  "peak_tflops": {"fp32": 67, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4, "fp8": 1978.9, "int8": 1978.9},
  "default_dtype": "bf16",
  "sources": {
    "peak_tflops": "NVIDIA H100 Tensor Core GPU Architecture whitepaper (Hopper), H100 SXM5 dense tensor-core figures; the datasheet (nvidia.com/en-us/data-center/h100) lists twice these with sparsity (TF32 989, BF16 1,979, FP8 3,958)",
    "memory": "H100 datasheet: H100 SXM 80 GB HBM3, 3.35 TB/s"
  }
}
)JSON"},
      {"h200", R"JSON({
  "name": "h200",
  "description": "NVIDIA H200 SXM 141GB",
  "memory_gb": 141,
  "memory_bandwidth_gb_s": 4800,
  "peak_tflops": {"fp32": 67, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4, "fp8": 1978.9, "int8": 1978.9},
  "default_dtype": "bf16",
  "sources": {
    "peak_tflops": "NVIDIA H200 datasheet (nvidia.com/en-us/data-center/h200): the same Hopper compute as H100 SXM; its sparsity figures (BF16 1,979, FP8 3,958) halved to dense",
    "memory": "same datasheet: 141 GB HBM3e, 4.8 TB/s"
  }
}
)JSON"},
      {"rtx4090", R"JSON({
  "name": "rtx4090",
  "description": "NVIDIA GeForce RTX 4090 (24 GB GDDR6X)",
  "memory_gb": 24,
  "memory_bandwidth_gb_s": 1008,
  "peak_tflops": {"fp32": 82.6, "tf32": 82.6, "bf16": 165.2, "fp16": 165.2, "fp8": 330.3, "int8": 660.6},
  "default_dtype": "bf16",
  "sources": {
    "peak_tflops": "NVIDIA Ada GPU Architecture whitepaper, appendix table for GeForce RTX 4090: dense tensor-core figures with FP32 accumulate (FP16 with FP16 accumulate is 330.3)",
    "memory": "same whitepaper: 24 GB GDDR6X at 21 Gbps on a 384-bit bus, 1,008 GB/s"
  },
  "notes": "The CS229S lecture's decode example uses this card: about 1 TB/s and 83 TFLOP/s fp32."
}
)JSON"},
      {"t4", R"JSON({
  "name": "t4",
  "description": "NVIDIA T4 (16 GB GDDR6, 70 W), the CS229S course GPU",
  "memory_gb": 16,
  "memory_bandwidth_gb_s": 320,
  "peak_tflops": {"fp32": 8.1, "fp16": 65, "int8": 130},
  "default_dtype": "fp16",
  "sources": {
    "peak_tflops": "NVIDIA T4 Tensor Core GPU datasheet (nvidia.com/en-us/data-center/tesla-t4): FP32 8.1 TFLOPS, mixed-precision FP16/FP32 65 TFLOPS, INT8 130 TOPS",
    "memory": "same datasheet: 16 GB GDDR6, 320+ GB/s"
  },
  "notes": "Turing (sm_75) has no bf16 or tf32 tensor cores; use --dtype fp16 or fp32."
}
)JSON"},
  };
  return m;
}

}  // namespace gpt::analysis
