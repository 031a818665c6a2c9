//===- GpuCaseFormat.h - The case directory of the GPU numerics tests ----===//
//
// attune-gpu-cases (GenerateGpuCases.cpp, needs the compiler) writes the
// cases here, on the build machine; GpuNumericsTest (GpuNumericsTest.cpp,
// links only the runtime) reads them on the GPU machine. Layout:
//
//   OUTDIR/MANIFEST.txt          one case name per line ('#' comments; a
//                                case that failed to generate is listed as
//                                "# FAILED <name>", with its message in
//                                OUTDIR/FAILED.txt and model in failed/)
//   OUTDIR/modules/<group>.atm   artifacts, one per group of cases (many
//                                functions in one artifact: ptxas once);
//                                <case>.atm when its group did not compile
//   OUTDIR/<case>/case.txt       the case (below)
//   OUTDIR/inputs/<dtype>_<shape>_<hash>.bin   an input in its storage
//                                dtype, raw little endian (bf16/f16 as 16-bit
//                                patterns, bool as one byte); cases with the
//                                same input bytes share the file
//   OUTDIR/<case>/gold/<name>.bin     the f64 reference rounded to f32, raw
//                                little endian (f64 for f64 results: the
//                                GOLD_DTYPE of the result line). Rounding
//                                moves gold by at most 2^-24 |gold|, under
//                                1% of the smallest floor (1e-5 max|gold|).
//
// case.txt, one record per line, fields separated by single spaces:
//   case NAME
//   module PATH              relative to the case directory
//   function NAME
//   input NAME DTYPE SHAPE FILE
//   result NAME DTYPE SHAPE FILE GOLD_DTYPE BOUND REF_ERROR FLOOR
// SHAPE is dims joined by 'x' ("1x2x113x64"), or "scalar" for rank 0.
// BOUND = 2 * REF_ERROR + FLOOR is the allowed max |out - gold| over the
// elements where gold is finite (DESIGN.md section 6: REF_ERROR =
// max |lowp - gold|, FLOOR = floor * max(1, max |gold|)); where gold is NaN
// the output must be NaN, where gold is +-inf the output must equal it.
//
// Header-only, C++17, no LLVM: both executables include it.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_TEST_GPU_GPUCASEFORMAT_H
#define ATTUNE_TEST_GPU_GPUCASEFORMAT_H

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace attune::gpucases {

struct TensorRecord {
  std::string name;
  std::string dtype;          ///< dtypeName spelling: f32, bf16, i32, ...
  std::vector<int64_t> shape;
  std::string file;           ///< relative to the case directory
  // results only
  std::string goldDtype;      ///< f32 or f64
  double bound = 0, refError = 0, floor = 0;
};

struct CaseRecord {
  std::string name;
  std::string module;   ///< relative to the case directory
  std::string function;
  std::vector<TensorRecord> inputs, results;
};

inline std::string shapeText(const std::vector<int64_t> &shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s;
}

inline bool parseShape(const std::string &text, std::vector<int64_t> &shape) {
  shape.clear();
  if (text == "scalar")
    return true;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, 'x')) {
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos)
      return false;
    shape.push_back(std::strtoll(part.c_str(), nullptr, 10));
  }
  return !shape.empty();
}

/// strtod of the whole token (no exceptions: the compiler side builds
/// without them).
inline bool parseNumber(const std::string &text, double &v) {
  char *end = nullptr;
  v = std::strtod(text.c_str(), &end);
  return !text.empty() && end == text.c_str() + text.size();
}

inline std::string numberText(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

inline std::string formatCase(const CaseRecord &c) {
  std::ostringstream os;
  os << "# attune GPU numerics case (test/gpu/GpuCaseFormat.h)\n";
  os << "case " << c.name << "\n";
  os << "module " << c.module << "\n";
  os << "function " << c.function << "\n";
  for (const TensorRecord &t : c.inputs)
    os << "input " << t.name << " " << t.dtype << " " << shapeText(t.shape)
       << " " << t.file << "\n";
  for (const TensorRecord &t : c.results)
    os << "result " << t.name << " " << t.dtype << " " << shapeText(t.shape)
       << " " << t.file << " " << t.goldDtype << " " << numberText(t.bound)
       << " " << numberText(t.refError) << " " << numberText(t.floor) << "\n";
  return os.str();
}

/// Parses case.txt text; "" on success, else what is wrong (with the line).
inline std::string parseCase(const std::string &text, CaseRecord &c) {
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#')
      continue;
    std::istringstream ls(line);
    std::vector<std::string> f;
    for (std::string w; ls >> w;)
      f.push_back(w);
    auto bad = [&](const std::string &why) {
      return "line " + std::to_string(n) + " ('" + line + "'): " + why;
    };
    const std::string &key = f[0];
    if (key == "case" && f.size() == 2) {
      c.name = f[1];
    } else if (key == "module" && f.size() == 2) {
      c.module = f[1];
    } else if (key == "function" && f.size() == 2) {
      c.function = f[1];
    } else if (key == "input" && f.size() == 5) {
      TensorRecord t;
      t.name = f[1];
      t.dtype = f[2];
      t.file = f[4];
      if (!parseShape(f[3], t.shape))
        return bad("bad shape");
      c.inputs.push_back(t);
    } else if (key == "result" && f.size() == 9) {
      TensorRecord t;
      t.name = f[1];
      t.dtype = f[2];
      t.file = f[4];
      if (!parseShape(f[3], t.shape))
        return bad("bad shape");
      t.goldDtype = f[5];
      if (t.goldDtype != "f32" && t.goldDtype != "f64")
        return bad("gold dtype must be f32 or f64");
      if (!parseNumber(f[6], t.bound) || !parseNumber(f[7], t.refError) ||
          !parseNumber(f[8], t.floor))
        return bad("bad number");
      c.results.push_back(t);
    } else {
      return bad("unknown or malformed record");
    }
  }
  if (c.name.empty() || c.module.empty() || c.function.empty())
    return "missing case, module or function record";
  if (c.results.empty())
    return "no result records";
  return "";
}

inline bool readFile(const std::string &path, std::string &out) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

} // namespace attune::gpucases

#endif // ATTUNE_TEST_GPU_GPUCASEFORMAT_H
