//===- PtxEmu.cpp - A PTX interpreter for testing kernels without a GPU ---===//
//
// PtxEmu.h says what is modelled. This file has three parts: the lexer and
// parser (PTX text -> functions of decoded instructions), the thread
// interpreter (one thread until it blocks), and the CTA scheduler (warp
// collectives, barriers, cp.async, racecheck) with the launch loop.
//
//===----------------------------------------------------------------------===//

#include "PtxEmu.h"

#include <algorithm>
#include <atomic>
#include <cfenv>
#include <cmath>
#include <cstdarg>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

//===----------------------------------------------------------------------===//
// Types, operands, instructions
//===----------------------------------------------------------------------===//

enum class T : uint8_t {
  None, B8, B16, B32, B64, B128, U8, U16, U32, U64, S8, S16, S32, S64,
  F16, BF16, F32, F64, F16x2, BF16x2, Pred
};

int bitsOf(T t) {
  switch (t) {
  case T::B8: case T::U8: case T::S8: return 8;
  case T::B16: case T::U16: case T::S16: case T::F16: case T::BF16: return 16;
  case T::B32: case T::U32: case T::S32: case T::F32: case T::F16x2:
  case T::BF16x2: return 32;
  case T::B64: case T::U64: case T::S64: case T::F64: return 64;
  case T::B128: return 128;
  case T::Pred: return 1;
  case T::None: return 0;
  }
  return 0;
}
bool isSigned(T t) { return t == T::S8 || t == T::S16 || t == T::S32 || t == T::S64; }
bool isFloat(T t) {
  return t == T::F16 || t == T::BF16 || t == T::F32 || t == T::F64 ||
         t == T::F16x2 || t == T::BF16x2;
}

bool parseType(const std::string &s, T &t) {
  static const std::map<std::string, T> kTypes = {
      {"b8", T::B8},     {"b16", T::B16},   {"b32", T::B32},
      {"b64", T::B64},   {"b128", T::B128}, {"u8", T::U8},
      {"u16", T::U16},   {"u32", T::U32},   {"u64", T::U64},
      {"s8", T::S8},     {"s16", T::S16},   {"s32", T::S32},
      {"s64", T::S64},   {"f16", T::F16},   {"bf16", T::BF16},
      {"f32", T::F32},   {"f64", T::F64},   {"f16x2", T::F16x2},
      {"bf16x2", T::BF16x2}, {"pred", T::Pred}};
  auto it = kTypes.find(s);
  if (it == kTypes.end())
    return false;
  t = it->second;
  return true;
}

uint64_t maskOf(int bits) { return bits >= 64 ? ~0ull : (1ull << bits) - 1; }
int64_t sext(uint64_t v, int bits) {
  if (bits >= 64)
    return (int64_t)v;
  uint64_t m = 1ull << (bits - 1);
  v &= maskOf(bits);
  return (int64_t)((v ^ m) - m);
}

enum class Space : uint8_t { Generic, Global, Shared, Local, Param, Const };

// Special registers.
enum Sreg : int32_t {
  SR_TID_X, SR_TID_Y, SR_TID_Z, SR_NTID_X, SR_NTID_Y, SR_NTID_Z,
  SR_CTAID_X, SR_CTAID_Y, SR_CTAID_Z, SR_NCTAID_X, SR_NCTAID_Y, SR_NCTAID_Z,
  SR_LANEID, SR_WARPID, SR_NWARPID
};

// Where a symbol lives; its address in its state space is resolved at run
// time for shared (dynamic base) and local (frame base) symbols.
enum class SymKind : uint8_t { Global, SharedStatic, SharedDynamic, Local, Param };

struct Operand {
  enum Kind : uint8_t { None, Reg, Imm, Addr, Vec, Sreg, Sym, Label, Sink };
  Kind kind = None;
  bool neg = false;       // !%p
  bool hasBase = false;   // Addr: a register or symbol base
  bool symBase = false;   // Addr: the base is a symbol
  SymKind symKind = SymKind::Global;
  int32_t reg = -1;       // Reg, Addr base register, Sreg id
  int64_t imm = 0;        // Imm bits, Addr offset, Sym/Addr symbol value
  uint64_t symValue = 0;  // Sym / Addr symbol: address or offset
  std::string name;       // Label / Sym / call target, until resolved
  std::vector<Operand> elems; // Vec (and a "p|q" pair, with pair = true)
  bool pair = false;
};

enum class Op : uint8_t {
  // integer and bit operations
  Add, Sub, Mul, Mad, Div, Rem, Min, Max, Abs, Neg, And, Or, Xor, Not, Cnot,
  Shl, Shr, Bfe, Bfi, Clz, Popc, Brev, Shf, Prmt,
  // float-only
  Fma, Rcp, Sqrt, Rsqrt, Ex2, Lg2, Sin, Cos, Tanh, Copysign, Testp,
  // comparisons, moves, conversions
  Setp, Selp, Mov, Cvt, Cvta,
  // memory
  Ld, St, Atom, Red, CpAsync, CpAsyncCommit, CpAsyncWait, CpAsyncWaitAll,
  // warp collectives and barriers
  Ldmatrix, Mma, Shfl, Bar, BarWarp,
  // control
  Bra, Brx, Call, Ret, Exit, Nop
};

enum Cmp : uint8_t {
  C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE, C_LO, C_LS, C_HI, C_HS,
  C_EQU, C_NEU, C_LTU, C_LEU, C_GTU, C_GEU, C_NUM, C_NAN
};
enum Rnd : uint8_t { R_NONE, R_RN, R_RZ, R_RM, R_RP, R_RNI, R_RZI, R_RMI, R_RPI };
enum BoolOp : uint8_t { BO_NONE, BO_AND, BO_OR, BO_XOR };
enum ShflMode : uint8_t { SH_UP, SH_DOWN, SH_BFLY, SH_IDX };
enum AtomOp : uint8_t { A_ADD, A_MIN, A_MAX, A_AND, A_OR, A_XOR, A_EXCH, A_CAS, A_INC, A_DEC };

// Instruction classes of PTXEMU_PROFILE (issue slots by kind).
enum Cls : uint8_t {
  K_MMA, K_LDMATRIX, K_CPASYNC, K_SHFL, K_BAR, K_SHARED, K_GLOBAL, K_LOCAL,
  K_INT32, K_INT64, K_FP32, K_FP64, K_HALF, K_CVT_MOV, K_SETP_SELP,
  K_CONTROL, K_ATOM, K_OTHER, K_COUNT
};
const char *const kClsNames[K_COUNT] = {
    "mma", "ldmatrix", "cp.async", "shfl", "bar", "ld/st.shared",
    "ld/st.global", "ld/st.local/param", "int32", "int64", "fp32", "fp64",
    "f16/bf16", "cvt/mov", "setp/selp", "control", "atom", "other"};

struct Inst {
  Op op = Op::Nop;
  uint8_t cls = K_OTHER;
  uint16_t opcodeId = 0; // index into ptxemu_module::opcodes
  T type = T::None;  // the instruction type (destination for cvt)
  T type2 = T::None; // cvt source type; mma A/B type
  Space space = Space::Generic;
  Space space2 = Space::Generic; // cvta target
  uint8_t cmp = C_EQ, rnd = R_NONE, boolOp = BO_NONE, vec = 1;
  uint8_t shfl = SH_BFLY, atom = A_ADD, ldmN = 1;
  bool ftz = false, sat = false, approx = false, nanMode = false;
  bool lo = false, hi = false, wide = false, cc = false, carryIn = false;
  bool trans = false, toShared = false, shfWrap = false, shfLeft = false;
  bool mmaK8 = false;
  bool ignoreSrc = false; // cp.async with an ignore-src predicate
  int guard = -1;
  bool guardNeg = false;
  int target = -1; // branch target pc, or callee function
  int line = 0;
  std::vector<Operand> ops;
  std::vector<int> targets; // brx.idx: the table's pcs
  // call: the caller's return and argument symbols (param offsets)
  std::vector<std::pair<int, int>> callRets, callArgs; // (offset, size)
};

struct ParamSym {
  std::string name;
  int offset = 0, size = 0;
};

struct Function {
  std::string name;
  bool entry = false, defined = false;
  int line = 0;
  std::vector<Inst> code;
  int numRegs = 0;
  std::vector<T> regTypes; // declared type of each register
  std::vector<ParamSym> params, rets; // signature, in order
  std::vector<ParamSym> allParams;    // signature + call-site .param
  int paramBytes = 0;
  int localBytes = 0;
  int sharedBytes = 0; // function-scope .shared, after the module's
  int maxThreads = 1024;
};

struct GlobalVar {
  std::string name;
  std::unique_ptr<uint8_t[]> data;
  size_t size = 0;
};

} // namespace

struct ptxemu_module {
  std::vector<std::string> lines;
  std::vector<Function> functions;
  std::unordered_map<std::string, int> functionIndex;
  std::vector<std::unique_ptr<GlobalVar>> globals;
  int moduleSharedBytes = 0;
  std::vector<std::string> opcodes; // distinct opcode spellings
  std::unordered_map<std::string, uint16_t> opcodeIds;
};

namespace {

//===----------------------------------------------------------------------===//
// Lexer
//===----------------------------------------------------------------------===//

struct Tok {
  enum Kind { End, Ident, Num, Str, Punct } kind = End;
  std::string text;
  int line = 0;
};

bool identStart(char c) {
  return std::isalpha((unsigned char)c) || c == '_' || c == '$' || c == '%' ||
         c == '.';
}
bool identChar(char c) {
  return std::isalnum((unsigned char)c) || c == '_' || c == '$' || c == '.';
}

std::vector<Tok> lex(const std::string &s) {
  std::vector<Tok> out;
  int line = 1;
  size_t i = 0, n = s.size();
  while (i < n) {
    char c = s[i];
    if (c == '\n') {
      ++line, ++i;
      continue;
    }
    if (std::isspace((unsigned char)c)) {
      ++i;
      continue;
    }
    if (c == '/' && i + 1 < n && s[i + 1] == '/') {
      while (i < n && s[i] != '\n')
        ++i;
      continue;
    }
    if (c == '/' && i + 1 < n && s[i + 1] == '*') {
      i += 2;
      while (i + 1 < n && !(s[i] == '*' && s[i + 1] == '/')) {
        if (s[i] == '\n')
          ++line;
        ++i;
      }
      i += 2;
      continue;
    }
    Tok t;
    t.line = line;
    if (c == '"') {
      size_t j = i + 1;
      while (j < n && s[j] != '"')
        ++j;
      t.kind = Tok::Str;
      t.text = s.substr(i + 1, j - i - 1);
      i = j + 1;
    } else if (std::isdigit((unsigned char)c)) {
      size_t j = i;
      while (j < n && (std::isalnum((unsigned char)s[j]) || s[j] == '.'))
        ++j;
      t.kind = Tok::Num;
      t.text = s.substr(i, j - i);
      i = j;
    } else if (identStart(c)) {
      size_t j = i + 1;
      while (j < n && (identChar(s[j]) || (s[j] == ':' && j + 1 < n &&
                                           s[j + 1] == ':')))
        j += s[j] == ':' ? 2 : 1;
      t.kind = Tok::Ident;
      t.text = s.substr(i, j - i);
      i = j;
    } else {
      t.kind = Tok::Punct;
      t.text = std::string(1, c);
      ++i;
    }
    out.push_back(std::move(t));
  }
  Tok end;
  end.line = line;
  out.push_back(end);
  return out;
}

//===----------------------------------------------------------------------===//
// Parser
//===----------------------------------------------------------------------===//

struct ParseError {
  int line;
  std::string message;
};

Cls classify(const Inst &I) {
  switch (I.op) {
  case Op::Mma: return K_MMA;
  case Op::Ldmatrix: return K_LDMATRIX;
  case Op::CpAsync: case Op::CpAsyncCommit: case Op::CpAsyncWait:
  case Op::CpAsyncWaitAll: return K_CPASYNC;
  case Op::Shfl: return K_SHFL;
  case Op::Bar: case Op::BarWarp: return K_BAR;
  case Op::Ld: case Op::St:
    return I.space == Space::Shared ? K_SHARED
           : I.space == Space::Local || I.space == Space::Param ? K_LOCAL
                                                                : K_GLOBAL;
  case Op::Atom: case Op::Red: return K_ATOM;
  case Op::Cvt: case Op::Mov: case Op::Cvta: return K_CVT_MOV;
  case Op::Setp: case Op::Selp: return K_SETP_SELP;
  case Op::Bra: case Op::Brx: case Op::Call: case Op::Ret: case Op::Exit:
    return K_CONTROL;
  case Op::Nop: return K_OTHER;
  default: break;
  }
  if (I.type == T::F32) return K_FP32;
  if (I.type == T::F64) return K_FP64;
  if (isFloat(I.type)) return K_HALF;
  return bitsOf(I.type) > 32 && !(I.wide && bitsOf(I.type) == 32) ? K_INT64
                                                                  : K_INT32;
}

/// Where a static .shared variable starts after `end`: aligned as declared
/// and no more (an odd multiple of an alignment below 16), so that a kernel
/// whose accesses need more than the declaration promises fails here
/// rather than working by luck of the layout.
int placeShared(int end, int align) {
  align = std::max(align, 1);
  int off = (end + align - 1) / align * align;
  if (align < 16 && off % (2 * align) == 0)
    off += align;
  return off;
}

class Parser {
public:
  Parser(ptxemu_module &m, std::vector<Tok> toks) : m(m), toks(std::move(toks)) {}

  void parseModule();

private:
  ptxemu_module &m;
  std::vector<Tok> toks;
  size_t p = 0;

  // Per function being parsed.
  Function *fn = nullptr;
  std::vector<std::unordered_map<std::string, int>> regScopes;
  std::unordered_map<std::string, int> labels;
  std::unordered_map<std::string, std::pair<SymKind, int>> localSyms;
  std::vector<std::pair<size_t, std::string>> pendingLabels; // (inst, label)
  std::unordered_map<std::string, std::vector<std::string>> branchTables;
  std::vector<std::pair<size_t, std::string>> pendingTables; // brx.idx

  // Module symbols.
  std::unordered_map<std::string, std::pair<SymKind, uint64_t>> moduleSyms;

  int instLine = 0; // the instruction being parsed, for its errors

  [[noreturn]] void fail(const std::string &msg) {
    throw ParseError{instLine ? instLine : cur().line, msg};
  }
  const Tok &cur() const { return toks[p]; }
  const Tok &peek(int k = 1) const {
    return toks[std::min(p + k, toks.size() - 1)];
  }
  bool isP(const char *s) const {
    return cur().kind == Tok::Punct && cur().text == s;
  }
  bool isI(const char *s) const {
    return cur().kind == Tok::Ident && cur().text == s;
  }
  void expectP(const char *s) {
    if (!isP(s))
      fail(std::string("expected '") + s + "', found '" + cur().text + "'");
    ++p;
  }
  std::string ident() {
    if (cur().kind != Tok::Ident)
      fail("expected a name, found '" + cur().text + "'");
    return toks[p++].text;
  }
  int64_t integer() {
    bool negative = false;
    if (isP("-")) {
      negative = true;
      ++p;
    }
    if (cur().kind != Tok::Num)
      fail("expected a number, found '" + cur().text + "'");
    std::string t = toks[p++].text;
    char *end = nullptr;
    uint64_t v = std::strtoull(t.c_str(), &end, 0);
    if (end == t.c_str() || *end != '\0')
      fail("expected an integer, found '" + t + "'");
    return negative ? -(int64_t)v : (int64_t)v;
  }

  void skipToSemicolon() {
    while (cur().kind != Tok::End && !isP(";"))
      ++p;
    if (isP(";"))
      ++p;
  }
  void skipBalanced() { // at '{'
    int depth = 0;
    do {
      if (isP("{"))
        ++depth;
      else if (isP("}"))
        --depth;
      ++p;
    } while (depth > 0 && cur().kind != Tok::End);
  }

  struct VarDecl {
    std::string name;
    int align = 1, elemBytes = 1;
    int64_t count = 1; // elements; -1 for name[]
    bool array = false;
    std::vector<int64_t> init;
  };
  VarDecl parseVarDecl(); // after the state space
  void parseGlobalDecl(bool externDecl);
  void parseFunction(bool entry);
  void parseParamList(std::vector<ParamSym> &out, bool kernel);
  void parseBody();
  void parseStatement();
  void parseInstruction(int guard, bool guardNeg, int line);
  Operand parseOperand();
  Operand parseAddress();
  int regIndex(const std::string &name);
  void declareRegs();
  void resolveSymbol(Operand &o);
  int addParamSym(const std::string &name, int size, int align);
};

int Parser::addParamSym(const std::string &name, int size, int align) {
  int off = (fn->paramBytes + align - 1) / align * align;
  fn->allParams.push_back({name, off, size});
  fn->paramBytes = off + size;
  localSyms[name] = {SymKind::Param, off};
  return off;
}

Parser::VarDecl Parser::parseVarDecl() {
  VarDecl d;
  T t = T::B8;
  while (cur().kind == Tok::Ident && cur().text[0] == '.') {
    std::string s = ident().substr(1);
    if (s == "align")
      d.align = (int)integer();
    else if (s == "ptr" || s == "global" || s == "shared" || s == "const" ||
             s == "local" || s == "v2" || s == "v4")
      continue;
    else if (!parseType(s, t))
      fail("unsupported variable attribute '." + s + "'");
  }
  d.elemBytes = std::max(1, bitsOf(t) / 8);
  d.name = ident();
  if (isP("[")) {
    ++p;
    d.array = true;
    if (isP("]"))
      d.count = -1;
    else
      d.count = integer();
    expectP("]");
  } else if (isP("<")) {
    // %r<N>
    ++p;
    d.count = integer();
    expectP(">");
    d.array = true;
  }
  if (isP("=")) {
    ++p;
    if (isP("{")) {
      ++p;
      while (!isP("}")) {
        d.init.push_back(integer());
        if (isP(","))
          ++p;
      }
      ++p;
    } else {
      d.init.push_back(integer());
    }
  }
  return d;
}

void Parser::parseGlobalDecl(bool externDecl) {
  std::string space = ident(); // .global / .shared / .const
  VarDecl d = parseVarDecl();
  expectP(";");
  if (space == ".shared") {
    bool dynamic = externDecl || d.count == -1 ||
                   d.name.rfind("__dynamic_shmem", 0) == 0;
    if (dynamic) {
      moduleSyms[d.name] = {SymKind::SharedDynamic, 0};
      return;
    }
    int off = placeShared(m.moduleSharedBytes, d.align);
    m.moduleSharedBytes = off + (int)(d.count * d.elemBytes);
    moduleSyms[d.name] = {SymKind::SharedStatic, (uint64_t)off};
    return;
  }
  if (space != ".global" && space != ".const")
    fail("unsupported module variable space '" + space + "'");
  if (d.count < 0)
    fail("global '" + d.name + "' has no size");
  auto g = std::make_unique<GlobalVar>();
  g->name = d.name;
  g->size = (size_t)(d.count * d.elemBytes);
  g->data.reset(new uint8_t[g->size + 16]());
  for (size_t i = 0; i < d.init.size() && (i + 1) * d.elemBytes <= g->size; ++i)
    std::memcpy(g->data.get() + i * d.elemBytes, &d.init[i], d.elemBytes);
  moduleSyms[d.name] = {SymKind::Global, (uint64_t)(uintptr_t)g->data.get()};
  m.globals.push_back(std::move(g));
}

void Parser::parseModule() {
  while (cur().kind != Tok::End) {
    if (cur().kind != Tok::Ident)
      fail("unexpected '" + cur().text + "' at module level");
    std::string d = cur().text;
    if (d == ".version" || d == ".target" || d == ".address_size" ||
        d == ".file" || d == ".loc") {
      ++p;
      // The directive's arguments end at the next directive or function.
      while (cur().kind != Tok::End &&
             !(cur().kind == Tok::Ident && cur().text[0] == '.'))
        ++p;
      continue;
    }
    if (d == ".section") {
      ++p;
      ident();
      if (isP("{"))
        skipBalanced();
      continue;
    }
    bool externDecl = false;
    while (isI(".visible") || isI(".extern") || isI(".weak")) {
      externDecl |= isI(".extern");
      ++p;
    }
    if (isI(".entry") || isI(".func")) {
      bool entry = isI(".entry");
      ++p;
      parseFunction(entry);
      continue;
    }
    if (isI(".global") || isI(".shared") || isI(".const")) {
      parseGlobalDecl(externDecl);
      continue;
    }
    fail("unsupported module directive '" + cur().text + "'");
  }
  for (Function &f : m.functions)
    if (!f.defined && f.entry)
      throw ParseError{f.line, "kernel '" + f.name + "' has no body"};
}

void Parser::parseParamList(std::vector<ParamSym> &out, bool kernel) {
  expectP("(");
  while (!isP(")")) {
    if (!isI(".param") && !isI(".reg"))
      fail("expected .param in the parameter list, found '" + cur().text + "'");
    ++p;
    VarDecl d = parseVarDecl();
    int size = (int)(d.array ? d.count * d.elemBytes : d.elemBytes);
    if (d.array && d.count < 0)
      fail("parameter '" + d.name + "' has no size");
    int align = std::max(d.align, kernel ? std::min(size, 8) : d.elemBytes);
    out.push_back({d.name, align, size}); // offset set by addParamSym
    if (isP(","))
      ++p;
  }
  ++p;
}

void Parser::parseFunction(bool entry) {
  int line = cur().line;
  std::vector<ParamSym> rets, params;
  if (!entry && isP("("))
    parseParamList(rets, false);
  std::string name = ident();
  if (isP("("))
    parseParamList(params, entry);
  auto found = m.functionIndex.find(name);
  int index;
  if (found == m.functionIndex.end()) {
    index = (int)m.functions.size();
    m.functions.emplace_back();
    m.functionIndex[name] = index;
  } else {
    index = found->second;
  }
  fn = &m.functions[index];
  fn->name = name;
  fn->entry = entry;
  fn->line = line;
  // Performance directives.
  while (cur().kind == Tok::Ident && cur().text[0] == '.') {
    std::string d = ident();
    if (d == ".maxntid" || d == ".reqntid") {
      int64_t t = 1;
      t *= integer();
      while (isP(",")) {
        ++p;
        t *= integer();
      }
      fn->maxThreads = (int)std::min<int64_t>(t, 1024);
    } else if (d == ".minnctapersm" || d == ".maxnreg" || d == ".maxnctapersm") {
      integer();
    } else if (d == ".noreturn") {
    } else if (d == ".pragma") {
      ++p;
      expectP(";");
    } else {
      fail("unsupported function directive '" + d + "'");
    }
  }
  if (isP(";")) { // a prototype
    ++p;
    fn = nullptr;
    return;
  }
  if (fn->defined)
    fail("function '" + name + "' is defined twice");
  fn->defined = true;
  regScopes.assign(1, {});
  labels.clear();
  localSyms.clear();
  pendingLabels.clear();
  branchTables.clear();
  pendingTables.clear();
  fn->code.clear();
  fn->numRegs = 0;
  fn->regTypes.clear();
  fn->params.clear();
  fn->rets.clear();
  fn->allParams.clear();
  fn->paramBytes = 0;
  // Kernel parameters are packed with their natural alignment, as
  // cuLaunchKernel's caller lays them out; a function's return values come
  // first in its param area, then its parameters.
  for (ParamSym &r : rets) {
    int off = addParamSym(r.name, r.size, r.offset /* align */);
    fn->rets.push_back({r.name, off, r.size});
  }
  for (ParamSym &q : params) {
    int off = addParamSym(q.name, q.size, q.offset /* align */);
    fn->params.push_back({q.name, off, q.size});
  }
  parseBody();
  for (auto &[pc, label] : pendingLabels) {
    auto it = labels.find(label);
    if (it == labels.end())
      throw ParseError{fn->code[pc].line, "unknown label '" + label + "'"};
    fn->code[pc].target = it->second;
  }
  for (auto &[pc, table] : pendingTables) {
    auto t = branchTables.find(table);
    if (t == branchTables.end())
      throw ParseError{fn->code[pc].line, "unknown .branchtargets '" + table + "'"};
    for (const std::string &label : t->second) {
      auto it = labels.find(label);
      if (it == labels.end())
        throw ParseError{fn->code[pc].line, "unknown label '" + label + "'"};
      fn->code[pc].targets.push_back(it->second);
    }
  }
  // A body that falls off its end returns.
  Inst ret;
  ret.op = Op::Ret;
  ret.line = cur().line;
  fn->code.push_back(ret);
  fn = nullptr;
}

int Parser::regIndex(const std::string &name) {
  for (auto it = regScopes.rbegin(); it != regScopes.rend(); ++it) {
    auto f = it->find(name);
    if (f != it->end())
      return f->second;
  }
  return -1;
}

void Parser::declareRegs() { // after .reg
  T t = T::B32;
  while (cur().kind == Tok::Ident && cur().text[0] == '.') {
    std::string s = ident().substr(1);
    if (s != "v2" && s != "v4" && !parseType(s, t))
      fail("unsupported register type '." + s + "'");
  }
  for (;;) {
    std::string name = ident();
    if (isP("<")) {
      ++p;
      int64_t n = integer();
      expectP(">");
      if (n < 0 || n > (1 << 20))
        fail("register count out of range");
      for (int64_t i = 0; i < n; ++i) {
        regScopes.back()[name + std::to_string(i)] = fn->numRegs++;
        fn->regTypes.push_back(t);
      }
    } else {
      regScopes.back()[name] = fn->numRegs++;
      fn->regTypes.push_back(t);
    }
    if (!isP(","))
      break;
    ++p;
  }
  expectP(";");
}

void Parser::parseBody() {
  expectP("{");
  while (!isP("}")) {
    if (cur().kind == Tok::End)
      fail("unexpected end of file in '" + fn->name + "'");
    parseStatement();
  }
  ++p;
}

void Parser::parseStatement() {
  const Tok &t = cur();
  if (t.kind == Tok::Punct && t.text == "{") {
    ++p;
    regScopes.emplace_back();
    while (!isP("}")) {
      if (cur().kind == Tok::End)
        fail("unexpected end of file in a { } block");
      parseStatement();
    }
    ++p;
    regScopes.pop_back();
    return;
  }
  if (t.kind == Tok::Ident && peek().kind == Tok::Punct && peek().text == ":") {
    std::string label = t.text;
    p += 2;
    if (isI(".branchtargets")) { // label: .branchtargets L1, L2, ...;
      ++p;
      std::vector<std::string> list;
      while (!isP(";")) {
        list.push_back(ident());
        if (isP(","))
          ++p;
      }
      ++p;
      branchTables[label] = std::move(list);
      return;
    }
    labels[label] = (int)fn->code.size();
    return;
  }
  if (t.kind == Tok::Ident && t.text[0] == '.') {
    std::string d = t.text;
    ++p;
    if (d == ".reg") {
      declareRegs();
    } else if (d == ".local" || d == ".shared" || d == ".param") {
      VarDecl v = parseVarDecl();
      expectP(";");
      int size = (int)(v.array ? v.count * v.elemBytes : v.elemBytes);
      if (size < 0)
        fail("'" + v.name + "' has no size");
      if (d == ".local") {
        int off = (fn->localBytes + v.align - 1) / v.align * v.align;
        fn->localBytes = off + size;
        localSyms[v.name] = {SymKind::Local, off};
      } else if (d == ".shared") {
        if (!fn->entry)
          fail("a .shared variable in non-kernel function '" + fn->name + "'");
        int off = placeShared(fn->sharedBytes, v.align);
        fn->sharedBytes = off + size;
        localSyms[v.name] = {SymKind::SharedStatic, off};
      } else {
        addParamSym(v.name, size, std::max(v.align, v.elemBytes));
      }
    } else if (d == ".pragma" || d == ".loc" || d == ".file") {
      skipToSemicolon();
    } else {
      fail("unsupported directive '" + d + "' in a function body");
    }
    return;
  }
  int line = t.line;
  int guard = -1;
  bool guardNeg = false;
  if (isP("@")) {
    ++p;
    if (isP("!")) {
      guardNeg = true;
      ++p;
    }
    std::string r = ident();
    guard = regIndex(r);
    if (guard < 0)
      fail("unknown predicate '" + r + "'");
  }
  parseInstruction(guard, guardNeg, line);
}

Operand Parser::parseAddress() {
  expectP("[");
  Operand o;
  o.kind = Operand::Addr;
  if (cur().kind == Tok::Ident) {
    std::string name = ident();
    int r = regIndex(name);
    o.hasBase = true;
    if (r >= 0) {
      o.reg = r;
    } else {
      o.symBase = true;
      o.name = name;
      resolveSymbol(o);
    }
    if (isP("+")) {
      ++p;
      o.imm = integer();
    } else if (isP("-")) {
      o.imm = integer();
    }
  } else {
    o.imm = integer();
  }
  expectP("]");
  return o;
}

void Parser::resolveSymbol(Operand &o) {
  auto l = localSyms.find(o.name);
  if (l != localSyms.end()) {
    o.symKind = l->second.first;
    o.symValue = (uint64_t)l->second.second;
    if (o.symKind == SymKind::SharedStatic)
      o.symValue += (uint64_t)m.moduleSharedBytes;
    return;
  }
  auto g = moduleSyms.find(o.name);
  if (g == moduleSyms.end())
    fail("unknown symbol '" + o.name + "'");
  o.symKind = g->second.first;
  o.symValue = g->second.second;
}

bool parseFloatImm(const std::string &t, int64_t &bits) {
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'f' || t[1] == 'F') &&
      t.size() == 10) {
    bits = (int64_t)std::strtoull(t.c_str() + 2, nullptr, 16);
    return true;
  }
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'd' || t[1] == 'D') &&
      t.size() == 18) {
    bits = (int64_t)std::strtoull(t.c_str() + 2, nullptr, 16);
    return true;
  }
  return false;
}

Operand Parser::parseOperand() {
  Operand o;
  if (isP("[")) {
    return parseAddress();
  }
  if (isP("{")) {
    ++p;
    o.kind = Operand::Vec;
    while (!isP("}")) {
      o.elems.push_back(parseOperand());
      if (isP(","))
        ++p;
      else if (!isP("}"))
        fail("expected ',' or '}' in a vector operand");
    }
    ++p;
    return o;
  }
  if (isP("!")) {
    ++p;
    o = parseOperand();
    o.neg = true;
    return o;
  }
  if (isP("-") || cur().kind == Tok::Num) {
    bool negative = false;
    if (isP("-")) {
      negative = true;
      ++p;
    }
    if (cur().kind != Tok::Num)
      fail("expected a number after '-'");
    std::string t = cur().text;
    int64_t bits;
    if (parseFloatImm(t, bits)) {
      ++p;
      if (negative)
        fail("negated float immediates are not supported");
      o.kind = Operand::Imm;
      o.imm = bits;
      return o;
    }
    if (negative)
      --p;
    o.kind = Operand::Imm;
    o.imm = integer();
    return o;
  }
  if (cur().kind != Tok::Ident)
    fail("unexpected '" + cur().text + "' in an operand");
  std::string name = ident();
  if (name == "_") {
    o.kind = Operand::Sink;
    return o;
  }
  static const std::map<std::string, int> kSregs = {
      {"%tid.x", SR_TID_X},       {"%tid.y", SR_TID_Y},
      {"%tid.z", SR_TID_Z},       {"%ntid.x", SR_NTID_X},
      {"%ntid.y", SR_NTID_Y},     {"%ntid.z", SR_NTID_Z},
      {"%ctaid.x", SR_CTAID_X},   {"%ctaid.y", SR_CTAID_Y},
      {"%ctaid.z", SR_CTAID_Z},   {"%nctaid.x", SR_NCTAID_X},
      {"%nctaid.y", SR_NCTAID_Y}, {"%nctaid.z", SR_NCTAID_Z},
      {"%laneid", SR_LANEID},     {"%warpid", SR_WARPID},
      {"%nwarpid", SR_NWARPID}};
  int r = regIndex(name);
  if (r >= 0) {
    o.kind = Operand::Reg;
    o.reg = r;
  } else if (auto s = kSregs.find(name); s != kSregs.end()) {
    o.kind = Operand::Sreg;
    o.reg = s->second;
  } else if (name[0] == '%') {
    fail("unknown register '" + name + "'");
  } else {
    o.kind = Operand::Label; // a label, a function or a symbol: decided later
    o.name = name;
  }
  if (isP("|")) { // setp/shfl destination pair p|q
    ++p;
    Operand second = parseOperand();
    Operand pair;
    pair.kind = Operand::Vec;
    pair.pair = true;
    pair.elems = {o, second};
    return pair;
  }
  return o;
}

struct Mods {
  std::vector<std::string> parts;
  std::vector<bool> used;
  explicit Mods(const std::string &opcode) {
    size_t i = 0;
    while (i <= opcode.size()) {
      size_t j = opcode.find('.', i);
      if (j == std::string::npos)
        j = opcode.size();
      parts.push_back(opcode.substr(i, j - i));
      i = j + 1;
    }
    used.assign(parts.size(), false);
    used[0] = true;
  }
  bool take(const char *s) {
    for (size_t i = 1; i < parts.size(); ++i)
      if (!used[i] && parts[i] == s) {
        used[i] = true;
        return true;
      }
    return false;
  }
  /// The types among the modifiers, in order (consumed).
  std::vector<T> types() {
    std::vector<T> out;
    for (size_t i = 1; i < parts.size(); ++i) {
      T t;
      if (!used[i] && parseType(parts[i], t)) {
        used[i] = true;
        out.push_back(t);
      }
    }
    return out;
  }
  std::string leftover() const {
    for (size_t i = 1; i < parts.size(); ++i)
      if (!used[i])
        return parts[i];
    return "";
  }
};

void Parser::parseInstruction(int guard, bool guardNeg, int line) {
  instLine = line;
  struct Reset {
    int &l;
    ~Reset() { l = 0; }
  } reset{instLine};
  std::string opcode = ident();
  Inst I;
  I.guard = guard;
  I.guardNeg = guardNeg;
  I.line = line;
  Mods md(opcode);
  const std::string &base = md.parts[0];

  // Operands.
  if (base == "call") {
    // call{.uni} (rets), func, (args);  or  call{.uni} func, (args);
    md.take("uni");
    I.op = Op::Call;
    auto symList = [&](std::vector<std::pair<int, int>> &out) {
      expectP("(");
      while (!isP(")")) {
        std::string s = ident();
        auto it = localSyms.find(s);
        if (it == localSyms.end() || it->second.first != SymKind::Param)
          fail("call operand '" + s + "' is not a .param of this function");
        int size = 0;
        for (ParamSym &q : fn->allParams)
          if (q.name == s)
            size = q.size;
        out.push_back({it->second.second, size});
        if (isP(","))
          ++p;
      }
      ++p;
    };
    if (isP("("))
      symList(I.callRets), expectP(",");
    Operand callee;
    callee.kind = Operand::Label;
    callee.name = ident();
    auto f = m.functionIndex.find(callee.name);
    if (f == m.functionIndex.end())
      fail("call to undeclared function '" + callee.name + "'");
    I.target = f->second;
    if (isP(",")) {
      ++p;
      symList(I.callArgs);
    }
    expectP(";");
    if (!md.leftover().empty())
      fail("unsupported call modifier '." + md.leftover() + "'");
    I.cls = K_CONTROL;
    fn->code.push_back(std::move(I));
    return;
  }
  while (!isP(";")) {
    I.ops.push_back(parseOperand());
    if (isP(","))
      ++p;
    else if (!isP(";"))
      fail("expected ',' or ';' after an operand of '" + opcode + "'");
  }
  ++p;
  for (Operand &o : I.ops) {
    if (o.kind == Operand::Label && base == "brx") {
      o.kind = Operand::Sym; // a .branchtargets table, resolved above
      continue;
    }
    if (o.kind == Operand::Label && base != "bra") {
      resolveSymbol(o);
      o.kind = Operand::Sym;
    }
    for (Operand &e : o.elems)
      if (e.kind == Operand::Label) {
        resolveSymbol(e);
        e.kind = Operand::Sym;
      }
  }
  auto nops = [&](size_t lo, size_t hi) {
    if (I.ops.size() < lo || I.ops.size() > hi)
      fail("'" + opcode + "' takes " + std::to_string(lo) +
           (lo == hi ? "" : "-" + std::to_string(hi)) + " operands");
  };
  auto space = [&]() {
    if (md.take("global")) return Space::Global;
    if (md.take("shared") || md.take("shared::cta")) return Space::Shared;
    if (md.take("local")) return Space::Local;
    if (md.take("param")) return Space::Param;
    if (md.take("const")) return Space::Const;
    return Space::Generic;
  };
  auto rounding = [&]() {
    if (md.take("rn")) return R_RN;
    if (md.take("rz")) return R_RZ;
    if (md.take("rm")) return R_RM;
    if (md.take("rp")) return R_RP;
    if (md.take("rni")) return R_RNI;
    if (md.take("rzi")) return R_RZI;
    if (md.take("rmi")) return R_RMI;
    if (md.take("rpi")) return R_RPI;
    return R_NONE;
  };
  auto oneType = [&]() {
    std::vector<T> ts = md.types();
    if (ts.size() != 1)
      fail("'" + opcode + "' needs one type");
    return ts[0];
  };

  static const std::map<std::string, Op> kSimple = {
      {"add", Op::Add},   {"sub", Op::Sub},     {"mul", Op::Mul},
      {"mad", Op::Mad},   {"div", Op::Div},     {"rem", Op::Rem},
      {"min", Op::Min},   {"max", Op::Max},     {"abs", Op::Abs},
      {"neg", Op::Neg},   {"and", Op::And},     {"or", Op::Or},
      {"xor", Op::Xor},   {"not", Op::Not},     {"cnot", Op::Cnot},
      {"shl", Op::Shl},   {"shr", Op::Shr},     {"bfe", Op::Bfe},
      {"bfi", Op::Bfi},   {"clz", Op::Clz},     {"popc", Op::Popc},
      {"brev", Op::Brev}, {"fma", Op::Fma},     {"rcp", Op::Rcp},
      {"sqrt", Op::Sqrt}, {"rsqrt", Op::Rsqrt}, {"ex2", Op::Ex2},
      {"lg2", Op::Lg2},   {"sin", Op::Sin},     {"cos", Op::Cos},
      {"tanh", Op::Tanh}, {"copysign", Op::Copysign},
      {"addc", Op::Add},  {"subc", Op::Sub},    {"madc", Op::Mad}};
  auto simple = kSimple.find(base);
  if (simple != kSimple.end()) {
    I.op = simple->second;
    I.carryIn = base == "addc" || base == "subc" || base == "madc";
    I.cc = md.take("cc");
    I.lo = md.take("lo");
    I.hi = md.take("hi");
    I.wide = md.take("wide");
    I.rnd = rounding();
    I.ftz = md.take("ftz");
    I.sat = md.take("sat");
    I.approx = md.take("approx") || md.take("full");
    I.nanMode = md.take("NaN");
    I.type = oneType();
    if (I.sat && !isFloat(I.type) &&
        !((I.op == Op::Add || I.op == Op::Sub) && I.type == T::S32))
      fail("'" + opcode + "': .sat on this integer operation is not supported");
    int want = 3;
    switch (I.op) {
    case Op::Mad: case Op::Fma: case Op::Bfe: want = 4; break;
    case Op::Bfi: want = 5; break;
    case Op::Abs: case Op::Neg: case Op::Not: case Op::Cnot: case Op::Clz:
    case Op::Popc: case Op::Brev: case Op::Rcp: case Op::Sqrt:
    case Op::Rsqrt: case Op::Ex2: case Op::Lg2: case Op::Sin: case Op::Cos:
    case Op::Tanh: want = 2; break;
    default: break;
    }
    nops(want, want);
    if (I.op == Op::Mul && !isFloat(I.type) && !I.hi && !I.wide)
      I.lo = true;
    if (I.op == Op::Mad && !isFloat(I.type) && !I.hi && !I.wide)
      I.lo = true;
    if (I.op == Op::Mad && isFloat(I.type))
      I.op = Op::Fma;
  } else if (base == "shf") {
    I.op = Op::Shf;
    I.shfLeft = md.take("l");
    if (!I.shfLeft && !md.take("r"))
      fail("shf needs .l or .r");
    I.shfWrap = md.take("wrap");
    if (!I.shfWrap && !md.take("clamp"))
      fail("shf needs .wrap or .clamp");
    I.type = oneType();
    nops(4, 4);
  } else if (base == "prmt") {
    I.op = Op::Prmt;
    I.type = oneType();
    nops(4, 4);
  } else if (base == "testp") {
    I.op = Op::Testp;
    if (md.take("finite")) I.cmp = 0;
    else if (md.take("infinite")) I.cmp = 1;
    else if (md.take("number")) I.cmp = 2;
    else if (md.take("notanumber")) I.cmp = 3;
    else if (md.take("normal")) I.cmp = 4;
    else if (md.take("subnormal")) I.cmp = 5;
    else fail("unsupported testp mode");
    I.type = oneType();
    nops(2, 2);
  } else if (base == "setp") {
    I.op = Op::Setp;
    static const std::map<std::string, uint8_t> kCmp = {
        {"eq", C_EQ},   {"ne", C_NE},   {"lt", C_LT},   {"le", C_LE},
        {"gt", C_GT},   {"ge", C_GE},   {"lo", C_LO},   {"ls", C_LS},
        {"hi", C_HI},   {"hs", C_HS},   {"equ", C_EQU}, {"neu", C_NEU},
        {"ltu", C_LTU}, {"leu", C_LEU}, {"gtu", C_GTU}, {"geu", C_GEU},
        {"num", C_NUM}, {"nan", C_NAN}};
    bool found = false;
    for (auto &[k, v] : kCmp)
      if (md.take(k.c_str())) {
        I.cmp = v;
        found = true;
        break;
      }
    if (!found)
      fail("setp needs a comparison");
    if (md.take("and")) I.boolOp = BO_AND;
    else if (md.take("or")) I.boolOp = BO_OR;
    else if (md.take("xor")) I.boolOp = BO_XOR;
    I.ftz = md.take("ftz");
    I.type = oneType();
    if (I.type == T::F16x2 || I.type == T::BF16x2)
      fail("setp on packed types is not supported");
    nops(I.boolOp ? 4 : 3, I.boolOp ? 4 : 3);
  } else if (base == "selp") {
    I.op = Op::Selp;
    I.type = oneType();
    nops(4, 4);
  } else if (base == "mov") {
    I.op = Op::Mov;
    I.type = oneType();
    nops(2, 2);
  } else if (base == "cvt") {
    I.op = Op::Cvt;
    I.rnd = rounding();
    I.ftz = md.take("ftz");
    I.sat = md.take("sat");
    if (md.take("relu") || md.take("satfinite"))
      fail("unsupported cvt modifier in '" + opcode + "'");
    std::vector<T> ts = md.types();
    if (ts.size() != 2)
      fail("cvt needs two types");
    I.type = ts[0];
    I.type2 = ts[1];
    bool packed = I.type == T::F16x2 || I.type == T::BF16x2;
    nops(packed ? 3 : 2, packed ? 3 : 2);
    if (packed && I.rnd != R_RN)
      fail("packed cvt: only .rn is supported");
  } else if (base == "cvta") {
    I.op = Op::Cvta;
    I.toShared = md.take("to");
    I.space2 = space();
    I.type = oneType();
    nops(2, 2);
  } else if (base == "ld" || base == "st" || base == "ldu") {
    I.op = base == "st" ? Op::St : Op::Ld;
    for (const char *ignored :
         {"weak", "volatile", "relaxed", "acquire", "release", "cta", "gpu",
          "sys", "nc", "ca", "cg", "cs", "lu", "cv", "wb", "wt", "L1::no_allocate",
          "L1::evict_last", "L1::evict_first", "L2::64B", "L2::128B", "L2::256B"})
      md.take(ignored);
    I.space = space();
    if (md.take("v2")) I.vec = 2;
    else if (md.take("v4")) I.vec = 4;
    I.type = oneType();
    if (I.type == T::B128)
      fail("128-bit loads and stores are not supported");
    nops(2, 2);
  } else if (base == "atom" || base == "red") {
    I.op = base == "atom" ? Op::Atom : Op::Red;
    for (const char *ignored :
         {"relaxed", "acquire", "release", "acq_rel", "cta", "gpu", "sys"})
      md.take(ignored);
    I.space = space();
    static const std::map<std::string, uint8_t> kAtom = {
        {"add", A_ADD}, {"min", A_MIN}, {"max", A_MAX}, {"and", A_AND},
        {"or", A_OR},   {"xor", A_XOR}, {"exch", A_EXCH}, {"cas", A_CAS},
        {"inc", A_INC}, {"dec", A_DEC}};
    bool found = false;
    for (auto &[k, v] : kAtom)
      if (md.take(k.c_str())) {
        I.atom = v;
        found = true;
        break;
      }
    if (!found)
      fail("unsupported atomic operation in '" + opcode + "'");
    I.type = oneType();
    size_t want = (I.op == Op::Red ? 2 : 3) + (I.atom == A_CAS ? 1 : 0);
    nops(want, want);
  } else if (base == "cp") {
    if (md.take("async")) {
      if (md.take("commit_group")) {
        I.op = Op::CpAsyncCommit;
        nops(0, 0);
      } else if (md.take("wait_group")) {
        I.op = Op::CpAsyncWait;
        nops(1, 1);
      } else if (md.take("wait_all")) {
        I.op = Op::CpAsyncWaitAll;
        nops(0, 0);
      } else {
        I.op = Op::CpAsync;
        if (!md.take("ca") && !md.take("cg"))
          fail("cp.async needs .ca or .cg");
        if (!md.take("shared") && !md.take("shared::cta"))
          fail("cp.async writes .shared");
        if (!md.take("global"))
          fail("cp.async reads .global");
        bool cg = md.parts.size() > 2 && md.parts[2] == "cg";
        md.take("L2::128B");
        md.take("L2::256B");
        nops(3, 5);
        // [dst], [src], cp-size {, src-size} {, ignore-src}
        if (I.ops[2].kind != Operand::Imm ||
            (I.ops[2].imm != 4 && I.ops[2].imm != 8 && I.ops[2].imm != 16) ||
            (cg && I.ops[2].imm != 16))
          fail("cp.async cp-size must be 4, 8 or 16 (16 with .cg)");
        auto isPred = [&](const Operand &o) {
          return o.kind == Operand::Reg &&
                 fn->regTypes[(size_t)o.reg] == T::Pred;
        };
        if (I.ops.size() == 4 && isPred(I.ops[3])) {
          I.ignoreSrc = true; // [dst], [src], cp-size, ignore-src
        } else if (I.ops.size() == 5) {
          if (!isPred(I.ops[4]))
            fail("cp.async's fifth operand must be the ignore-src predicate");
          I.ignoreSrc = true;
        }
      }
    } else {
      fail("unsupported instruction '" + opcode + "'");
    }
  } else if (base == "ldmatrix") {
    I.op = Op::Ldmatrix;
    md.take("sync");
    md.take("aligned");
    if (!md.take("m8n8"))
      fail("ldmatrix: only .m8n8 is supported");
    if (md.take("x1")) I.ldmN = 1;
    else if (md.take("x2")) I.ldmN = 2;
    else if (md.take("x4")) I.ldmN = 4;
    else fail("ldmatrix needs .x1, .x2 or .x4");
    I.trans = md.take("trans");
    md.take("shared");
    md.take("shared::cta");
    if (oneType() != T::B16)
      fail("ldmatrix: only .b16 is supported");
    nops(2, 2);
  } else if (base == "mma") {
    I.op = Op::Mma;
    md.take("sync");
    md.take("aligned");
    if (md.take("m16n8k16")) I.mmaK8 = false;
    else if (md.take("m16n8k8")) I.mmaK8 = true;
    else fail("mma: only m16n8k16 and m16n8k8 are supported");
    if (!md.take("row") || !md.take("col"))
      fail("mma: only .row.col is supported");
    std::vector<T> ts = md.types();
    if (ts.size() != 4 || ts[0] != T::F32 || ts[3] != T::F32 || ts[1] != ts[2] ||
        (ts[1] != T::F16 && ts[1] != T::BF16))
      fail("mma: only f32 accumulators with f16 or bf16 inputs are supported");
    I.type = T::F32;
    I.type2 = ts[1];
    nops(4, 4);
  } else if (base == "shfl") {
    I.op = Op::Shfl;
    if (!md.take("sync"))
      fail("shfl: only shfl.sync is supported");
    if (md.take("up")) I.shfl = SH_UP;
    else if (md.take("down")) I.shfl = SH_DOWN;
    else if (md.take("bfly")) I.shfl = SH_BFLY;
    else if (md.take("idx")) I.shfl = SH_IDX;
    else fail("shfl needs a mode");
    I.type = oneType();
    nops(5, 5);
  } else if (base == "bar" || base == "barrier") {
    md.take("aligned");
    md.take("cta");
    if (md.take("warp")) {
      md.take("sync");
      I.op = Op::BarWarp;
      nops(1, 1);
    } else {
      if (!md.take("sync") && base == "bar")
        fail("unsupported barrier '" + opcode + "'");
      md.take("sync");
      I.op = Op::Bar;
      nops(1, 2);
    }
  } else if (base == "bra") {
    I.op = Op::Bra;
    md.take("uni");
    nops(1, 1);
    if (I.ops[0].kind != Operand::Label)
      fail("bra needs a label");
    pendingLabels.push_back({fn->code.size(), I.ops[0].name});
  } else if (base == "brx") {
    I.op = Op::Brx;
    md.take("uni");
    if (!md.take("idx"))
      fail("brx needs .idx");
    if (I.ops.size() != 2 || I.ops[1].kind != Operand::Sym)
      fail("brx.idx takes an index and a .branchtargets label");
    pendingTables.push_back({fn->code.size(), I.ops[1].name});
  } else if (base == "ret") {
    I.op = Op::Ret;
    md.take("uni");
  } else if (base == "exit") {
    I.op = Op::Exit;
  } else if (base == "membar" || base == "fence") {
    I.op = Op::Nop; // one host thread runs a CTA: accesses are in order
    md.parts.resize(1);
  } else {
    fail("unsupported instruction '" + opcode + "'");
  }
  std::string left = md.leftover();
  if (!left.empty())
    fail("unsupported modifier '." + left + "' in '" + opcode + "'");
  I.cls = classify(I);
  auto id = m.opcodeIds.find(opcode);
  if (id == m.opcodeIds.end()) {
    if (m.opcodes.size() >= 65535)
      fail("too many distinct opcodes");
    id = m.opcodeIds.emplace(opcode, (uint16_t)m.opcodes.size()).first;
    m.opcodes.push_back(opcode);
  }
  I.opcodeId = id->second;
  fn->code.push_back(std::move(I));
}

//===----------------------------------------------------------------------===//
// Numbers: f16/bf16 conversions, rounding
//===----------------------------------------------------------------------===//

float f32(uint64_t bits) {
  uint32_t b = (uint32_t)bits;
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
uint64_t bitsF32(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
double f64(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}
uint64_t bitsF64(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  int exp = (h >> 10) & 0x1f;
  uint32_t man = h & 0x3ff;
  float f;
  if (exp == 0x1f) {
    uint32_t b = sign | 0x7f800000 | (man << 13);
    std::memcpy(&f, &b, 4);
    return f;
  }
  if (exp == 0) {
    f = std::ldexp((float)man, -24);
    return sign ? -f : f;
  }
  uint32_t b = sign | ((uint32_t)(exp - 15 + 127) << 23) | (man << 13);
  std::memcpy(&f, &b, 4);
  return f;
}

// Round-to-nearest-even from double (exact for any f32 input).
uint16_t doubleToHalf(double d) {
  uint16_t sign = std::signbit(d) ? 0x8000 : 0;
  if (std::isnan(d))
    return 0x7fff;
  double a = std::fabs(d);
  if (a >= 65520.0) // rounds to infinity
    return sign | 0x7c00;
  if (a < std::ldexp(1.0, -14)) { // subnormal: units of 2^-24
    double q = std::nearbyint(a * std::ldexp(1.0, 24)); // default mode: RNE
    return sign | (uint16_t)q;
  }
  int e;
  double m = std::frexp(a, &e); // a = m * 2^e, m in [0.5, 1)
  double q = std::nearbyint(m * 2048.0); // 11 significant bits
  if (q == 2048.0) {
    q = 1024.0;
    ++e;
  }
  int exp = e - 1 + 15;
  if (exp >= 31)
    return sign | 0x7c00;
  return sign | (uint16_t)(exp << 10) | (uint16_t)((uint32_t)q - 1024);
}

float bf16ToFloat(uint16_t h) { return f32((uint32_t)h << 16); }

uint16_t floatToBf16(float f) {
  uint32_t b = (uint32_t)bitsF32(f);
  if (std::isnan(f))
    return 0x7fff;
  uint32_t lsb = (b >> 16) & 1;
  b += 0x7fff + lsb;
  return (uint16_t)(b >> 16);
}
// Round-to-nearest-even from double in one step (going through f32 would
// round twice).
uint16_t doubleToBf16(double d) {
  uint16_t sign = std::signbit(d) ? 0x8000 : 0;
  if (std::isnan(d))
    return 0x7fff;
  double a = std::fabs(d);
  if (std::isinf(a))
    return sign | 0x7f80;
  if (a < std::ldexp(1.0, -126)) { // subnormal: units of 2^-133
    double q = std::nearbyint(a * std::ldexp(1.0, 133));
    return sign | (uint16_t)q; // q = 128 is the smallest normal, 0x0080
  }
  int e;
  double m = std::frexp(a, &e); // a = m * 2^e, m in [0.5, 1)
  double q = std::nearbyint(m * 256.0); // 8 significant bits
  if (q == 256.0) {
    q = 128.0;
    ++e;
  }
  int exp = e - 1 + 127;
  if (exp >= 255)
    return sign | 0x7f80;
  return sign | (uint16_t)(exp << 7) | (uint16_t)((uint32_t)q - 128);
}

float ftz32(float f) {
  if (std::fpclassify(f) == FP_SUBNORMAL)
    return std::signbit(f) ? -0.0f : 0.0f;
  return f;
}

// Workers run in round-to-nearest; an instruction with a directed rounding
// mode switches for its own arithmetic only.
struct RoundScope {
  bool changed = false;
  explicit RoundScope(uint8_t r) {
    int mode = FE_TONEAREST;
    if (r == R_RZ || r == R_RZI) mode = FE_TOWARDZERO;
    else if (r == R_RM || r == R_RMI) mode = FE_DOWNWARD;
    else if (r == R_RP || r == R_RPI) mode = FE_UPWARD;
    if (mode != FE_TONEAREST) {
      std::fesetround(mode);
      changed = true;
    }
  }
  ~RoundScope() {
    if (changed)
      std::fesetround(FE_TONEAREST);
  }
};

//===----------------------------------------------------------------------===//
// Execution state
//===----------------------------------------------------------------------===//

struct Frame {
  const Function *fn;
  int pc = 0;
  std::vector<uint64_t> regs;
  std::vector<uint8_t> params;
  uint64_t localBase = 0; // offset into the thread's local stack
  const Inst *call = nullptr; // the caller's call instruction
};

struct PendingCopy {
  uint32_t dst;
  uint8_t n;
  uint8_t bytes[16];
  int group;
};

enum class State : uint8_t { Running, AtCollective, AtBarrier, Exited };

struct Thread {
  uint32_t tid[3] = {0, 0, 0};
  int linear = 0, warp = 0, lane = 0;
  State state = State::Running;
  std::vector<Frame> frames;
  std::vector<uint8_t> local;
  bool carry = false;
  std::vector<PendingCopy> pending;
  int openGroup = 0; // the group new cp.async join
  const Inst *waitAt = nullptr;
  uint64_t scratch[12]; // collective operands captured when blocking
  uint64_t executed = 0;
};

struct Shadow { // racecheck state of one shared byte
  uint32_t writeEpoch = 0, readEpoch = 0;
  uint16_t writer = 0, reader = 0; // warp + 1; 0 = none
  bool readers = false;            // more than one warp read this epoch
};

struct LaunchError {
  std::string message;
};

class Cta;

struct LaunchContext {
  ptxemu_module *m;
  const Function *kernel;
  unsigned grid[3], block[3];
  const uint8_t *params;
  ptxemu_global_check check;
  void *checkCtx;
  int sharedBytes;   // static + dynamic
  int dynamicBase;
  bool racecheck = true;
  uint64_t maxSteps = 1000000000ull; // per thread
  int profile = 0; // PTXEMU_PROFILE: 1 classes, 2 also opcodes
};

class Cta {
public:
  Cta(const LaunchContext &lc) : lc(lc) {
    nthreads = (int)(lc.block[0] * lc.block[1] * lc.block[2]);
    nwarps = (nthreads + 31) / 32;
    shared.assign((size_t)lc.sharedBytes + 16, 0xff);
    if (lc.racecheck)
      shadow.assign((size_t)lc.sharedBytes + 16, Shadow());
    inflight.assign((size_t)lc.sharedBytes + 16, 0);
    threads.resize((size_t)nthreads);
  }

  void run(unsigned bx, unsigned by, unsigned bz);
  uint64_t counts[K_COUNT] = {}; // PTXEMU_PROFILE: thread instructions
  std::vector<uint64_t> opcodeCounts; // PTXEMU_PROFILE=2: by opcode
  uint64_t longestThread = 0; // most instructions one thread ran

private:
  const LaunchContext &lc;
  int nthreads, nwarps;
  unsigned ctaid[3];
  std::vector<uint8_t> shared;
  std::vector<Shadow> shadow;
  std::vector<uint8_t> inflight; // cp.async copies pending per shared byte
  uint32_t epoch = 1;
  std::vector<Thread> threads;
  Thread *th = nullptr; // the thread running
  const Inst *inst = nullptr;

  [[noreturn]] void error(const char *fmt, ...);
  std::string where(const Thread &t, const Inst *i) const;

  void start(Thread &t, int linear);
  void runThread(Thread &t);
  void collective(int warp);
  void barrier();

  uint64_t reg(int r) const { return th->frames.back().regs[(size_t)r]; }
  void setReg(int r, uint64_t v) { th->frames.back().regs[(size_t)r] = v; }
  uint64_t read(const Operand &o) const;
  void write(const Operand &o, uint64_t v);
  uint64_t address(const Operand &o) const;
  uint64_t symbolValue(const Operand &o) const;
  enum Access : uint8_t { Plain, Atomic, CopyIssue, CopyLand };
  uint8_t *memory(Space s, uint64_t addr, int bytes, bool isWrite,
                  Space *resolved = nullptr, Access kind = Plain);
  void raceRead(uint64_t off, int n, int warp);
  void raceWrite(uint64_t off, int n, int warp);
  void retire(Thread &t, int keep);

  void execInt(const Inst &I);
  void execFloat(const Inst &I);
  void execSetp(const Inst &I);
  void execCvt(const Inst &I);
  void execMemory(const Inst &I);
  void execAtom(const Inst &I);
  void execCpAsync(const Inst &I);
  void execCall(const Inst &I);
  bool execRet();
  void execLdmatrix(int warp, const Inst &I);
  void execMma(int warp, const Inst &I);
  void execShfl(int warp, const Inst &I);
};

std::string Cta::where(const Thread &t, const Inst *i) const {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "kernel %s, block (%u,%u,%u), thread (%u,%u,%u)",
                lc.kernel->name.c_str(), ctaid[0], ctaid[1], ctaid[2], t.tid[0],
                t.tid[1], t.tid[2]);
  std::string s = buf;
  if (i) {
    s += ", line " + std::to_string(i->line);
    if (i->line > 0 && (size_t)i->line <= lc.m->lines.size()) {
      std::string text = lc.m->lines[(size_t)i->line - 1];
      size_t a = text.find_first_not_of(" \t");
      s += " '" + (a == std::string::npos ? text : text.substr(a)) + "'";
    }
  }
  return s;
}

void Cta::error(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  std::string w = th ? where(*th, inst) : "kernel " + lc.kernel->name;
  throw LaunchError{w + ": " + buf};
}

void Cta::start(Thread &t, int linear) {
  t = Thread();
  t.linear = linear;
  t.tid[0] = (uint32_t)(linear % (int)lc.block[0]);
  t.tid[1] = (uint32_t)(linear / (int)lc.block[0] % (int)lc.block[1]);
  t.tid[2] = (uint32_t)(linear / (int)(lc.block[0] * lc.block[1]));
  t.warp = linear / 32;
  t.lane = linear % 32;
  Frame f;
  f.fn = lc.kernel;
  // Registers and local memory start undefined on a GPU: here all ones
  // (NaN as f32/f64), so a kernel that reads one before writing it shows.
  f.regs.assign((size_t)lc.kernel->numRegs, ~0ull);
  f.params.assign((size_t)lc.kernel->paramBytes + 8, 0);
  std::memcpy(f.params.data(), lc.params,
              lc.kernel->params.empty()
                  ? 0
                  : (size_t)(lc.kernel->params.back().offset +
                             lc.kernel->params.back().size));
  t.local.assign((size_t)lc.kernel->localBytes + 8, 0xff);
  t.frames.push_back(std::move(f));
}

uint64_t Cta::symbolValue(const Operand &o) const {
  switch (o.symKind) {
  case SymKind::Global:
  case SymKind::SharedStatic:
  case SymKind::Param:
    return o.symValue;
  case SymKind::SharedDynamic:
    return (uint64_t)lc.dynamicBase;
  case SymKind::Local:
    return th->frames.back().localBase + o.symValue;
  }
  return 0;
}

uint64_t Cta::read(const Operand &o) const {
  switch (o.kind) {
  case Operand::Reg: {
    uint64_t v = reg(o.reg);
    return o.neg ? !v : v;
  }
  case Operand::Imm:
    return (uint64_t)o.imm;
  case Operand::Sym:
    return symbolValue(o);
  case Operand::Sreg:
    switch (o.reg) {
    case SR_TID_X: return th->tid[0];
    case SR_TID_Y: return th->tid[1];
    case SR_TID_Z: return th->tid[2];
    case SR_NTID_X: return lc.block[0];
    case SR_NTID_Y: return lc.block[1];
    case SR_NTID_Z: return lc.block[2];
    case SR_CTAID_X: return ctaid[0];
    case SR_CTAID_Y: return ctaid[1];
    case SR_CTAID_Z: return ctaid[2];
    case SR_NCTAID_X: return lc.grid[0];
    case SR_NCTAID_Y: return lc.grid[1];
    case SR_NCTAID_Z: return lc.grid[2];
    case SR_LANEID: return (uint64_t)th->lane;
    case SR_WARPID: return (uint64_t)th->warp;
    case SR_NWARPID: return (uint64_t)nwarps;
    }
    return 0;
  default:
    break;
  }
  throw LaunchError{where(*th, inst) + ": operand cannot be read"};
}

void Cta::write(const Operand &o, uint64_t v) {
  if (o.kind == Operand::Sink)
    return;
  if (o.kind != Operand::Reg)
    error("destination is not a register");
  setReg(o.reg, v);
}

uint64_t Cta::address(const Operand &o) const {
  uint64_t a = 0;
  if (o.hasBase)
    a = o.symBase ? symbolValue(o) : reg(o.reg);
  return a + (uint64_t)o.imm;
}

uint8_t *Cta::memory(Space s, uint64_t addr, int bytes, bool isWrite,
                     Space *resolved, Access kind) {
  if (s == Space::Generic) {
    uint64_t sh = (uint64_t)(uintptr_t)shared.data();
    uint64_t lo = (uint64_t)(uintptr_t)th->local.data();
    if (addr >= sh && addr < sh + shared.size()) {
      s = Space::Shared;
      addr -= sh;
    } else if (addr >= lo && addr < lo + th->local.size()) {
      s = Space::Local;
      addr -= lo;
    } else {
      s = Space::Global;
    }
  }
  if (s == Space::Shared || s == Space::Local)
    addr &= 0xffffffffu; // 32-bit state-space addresses, as in registers
  if (resolved)
    *resolved = s;
  // An access must be aligned to its size (the largest power of two
  // dividing it, at most 16: vectors and cp.async's partial sources).
  uint64_t align = (uint64_t)(bytes & -bytes);
  if (align > 16)
    align = 16;
  if (align > 1 && addr % align != 0)
    error("misaligned %d-byte %s access at address 0x%llx", bytes,
          isWrite ? "write" : "read", (unsigned long long)addr);
  switch (s) {
  case Space::Shared:
    if (addr + (uint64_t)bytes > (uint64_t)lc.sharedBytes || addr > (1ull << 32))
      error("shared %s of %d bytes at offset %llu is outside the CTA's %d "
            "bytes of shared memory",
            isWrite ? "write" : "read", bytes, (unsigned long long)addr,
            lc.sharedBytes);
    // A byte a cp.async is still copying into has no defined value, and a
    // store to it may be overwritten when the copy lands.
    if (kind != CopyLand)
      for (int i = 0; i < bytes; ++i)
        if (inflight[addr + (uint64_t)i]) {
          if (kind == CopyIssue)
            error("cp.async into shared byte %llu while an earlier cp.async "
                  "into it is still in flight",
                  (unsigned long long)(addr + (uint64_t)i));
          error("shared %s of byte %llu while a cp.async into it is in "
                "flight (before the cp.async.wait_group that lands it)",
                isWrite ? "write" : "read",
                (unsigned long long)(addr + (uint64_t)i));
        }
    if (kind == CopyIssue || kind == CopyLand)
      for (int i = 0; i < bytes; ++i)
        inflight[addr + (uint64_t)i] += kind == CopyIssue ? 1 : -1;
    if (lc.racecheck && kind != Atomic) {
      if (isWrite)
        raceWrite(addr, bytes, th->warp);
      else
        raceRead(addr, bytes, th->warp);
    }
    return shared.data() + addr;
  case Space::Local:
    if (addr + (uint64_t)bytes > th->local.size())
      error("local %s of %d bytes at offset %llu is outside the %zu-byte "
            "stack", isWrite ? "write" : "read", bytes,
            (unsigned long long)addr, th->local.size());
    return th->local.data() + addr;
  case Space::Param: {
    std::vector<uint8_t> &pb = th->frames.back().params;
    if (addr + (uint64_t)bytes > pb.size())
      error("param access at offset %llu is outside the parameters",
            (unsigned long long)addr);
    return pb.data() + addr;
  }
  case Space::Global:
  case Space::Const: {
    if (isWrite && s == Space::Const)
      error("write to .const memory");
    bool ok = false;
    for (const auto &g : lc.m->globals) {
      uint64_t b = (uint64_t)(uintptr_t)g->data.get();
      if (addr >= b && addr + (uint64_t)bytes <= b + g->size)
        ok = true;
    }
    if (!ok && lc.check && lc.check(addr, (uint64_t)bytes, lc.checkCtx))
      ok = true;
    if (!ok)
      error("global %s of %d bytes at 0x%llx is outside every device "
            "allocation", isWrite ? "write" : "read", bytes,
            (unsigned long long)addr);
    return reinterpret_cast<uint8_t *>((uintptr_t)addr);
  }
  case Space::Generic:
    break;
  }
  return nullptr;
}

void Cta::raceRead(uint64_t off, int n, int warp) {
  for (int i = 0; i < n; ++i) {
    Shadow &s = shadow[off + (uint64_t)i];
    if (s.writeEpoch == epoch && s.writer != warp + 1)
      error("racecheck: shared byte %llu is read by warp %d after warp %d "
            "wrote it, with no barrier between",
            (unsigned long long)(off + (uint64_t)i), warp, s.writer - 1);
    if (s.readEpoch != epoch) {
      s.readEpoch = epoch;
      s.reader = (uint16_t)(warp + 1);
      s.readers = false;
    } else if (s.reader != warp + 1) {
      s.readers = true;
    }
  }
}

void Cta::raceWrite(uint64_t off, int n, int warp) {
  for (int i = 0; i < n; ++i) {
    Shadow &s = shadow[off + (uint64_t)i];
    if (s.readEpoch == epoch && (s.readers || s.reader != warp + 1))
      error("racecheck: shared byte %llu is written by warp %d after warp %d "
            "read it, with no barrier between",
            (unsigned long long)(off + (uint64_t)i), warp,
            s.readers && s.reader == warp + 1 ? -1 : s.reader - 1);
    if (s.writeEpoch == epoch && s.writer != warp + 1)
      error("racecheck: shared byte %llu is written by warps %d and %d with "
            "no barrier between",
            (unsigned long long)(off + (uint64_t)i), s.writer - 1, warp);
    s.writeEpoch = epoch;
    s.writer = (uint16_t)(warp + 1);
  }
}

//===----------------------------------------------------------------------===//
// Integer and float instructions
//===----------------------------------------------------------------------===//

void Cta::execInt(const Inst &I) {
  const int w = bitsOf(I.type);
  const uint64_t m = maskOf(w);
  const bool s = isSigned(I.type);
  auto src = [&](int i, int bits) -> uint64_t {
    return read(I.ops[(size_t)i]) & maskOf(bits);
  };
  auto a = src(1, w);
  uint64_t d = 0;
  switch (I.op) {
  case Op::Add:
  case Op::Sub: {
    uint64_t b = src(2, w);
    uint64_t cin = I.carryIn ? (uint64_t)th->carry : 0;
    if (I.sat && s) {
      int64_t x = sext(a, w), y = sext(b, w);
      __int128 r = I.op == Op::Add ? (__int128)x + y : (__int128)x - y;
      int64_t hiV = (int64_t)(m >> 1), loV = -hiV - 1;
      d = (uint64_t)(r > hiV ? hiV : r < loV ? loV : (int64_t)r) & m;
      break;
    }
    if (I.op == Op::Add) {
      unsigned __int128 r = (unsigned __int128)a + b + cin;
      d = (uint64_t)r & m;
      if (I.cc)
        th->carry = w >= 64 ? (r >> 64) != 0 : ((uint64_t)r >> w) != 0;
    } else {
      // CC.CF holds the borrow: subc computes a - (b + CF).
      unsigned __int128 need = (unsigned __int128)b + cin;
      d = (uint64_t)((unsigned __int128)a - need) & m;
      if (I.cc)
        th->carry = (unsigned __int128)a < need;
    }
    break;
  }
  case Op::Mul:
  case Op::Mad: {
    uint64_t b = src(2, w);
    unsigned __int128 prod;
    if (s)
      prod = (unsigned __int128)((__int128)sext(a, w) * (__int128)sext(b, w));
    else
      prod = (unsigned __int128)a * b;
    int ow = I.wide ? 2 * w : w;
    uint64_t r;
    if (I.hi)
      r = (uint64_t)(prod >> w) & m;
    else
      r = (uint64_t)prod & maskOf(ow);
    if (I.op == Op::Mad) {
      uint64_t c = src(3, ow);
      uint64_t cin = I.carryIn ? (uint64_t)th->carry : 0;
      unsigned __int128 sum = (unsigned __int128)r + c + cin;
      uint64_t om = maskOf(ow);
      if (I.cc)
        th->carry = ow >= 64 ? (sum >> 64) != 0 : ((uint64_t)sum >> ow) != 0;
      r = (uint64_t)sum & om;
    }
    d = r;
    break;
  }
  case Op::Div:
  case Op::Rem: {
    uint64_t b = src(2, w);
    if (b == 0) {
      d = m; // undefined on hardware; all ones here
      break;
    }
    if (s) {
      int64_t x = sext(a, w), y = sext(b, w);
      if (y == -1)
        d = (uint64_t)(I.op == Op::Div ? -(uint64_t)x : 0) & m;
      else
        d = (uint64_t)(I.op == Op::Div ? x / y : x % y) & m;
    } else {
      d = (I.op == Op::Div ? a / b : a % b) & m;
    }
    break;
  }
  case Op::Min:
  case Op::Max: {
    uint64_t b = src(2, w);
    bool less = s ? sext(a, w) < sext(b, w) : a < b;
    d = (I.op == Op::Min) == less ? a : b;
    break;
  }
  case Op::Abs:
    d = (uint64_t)(sext(a, w) < 0 ? -sext(a, w) : sext(a, w)) & m;
    break;
  case Op::Neg:
    d = (uint64_t)(-(int64_t)a) & m;
    break;
  case Op::And:
  case Op::Or:
  case Op::Xor: {
    uint64_t b = src(2, w);
    d = I.op == Op::And ? a & b : I.op == Op::Or ? a | b : a ^ b;
    if (I.type == T::Pred)
      d &= 1;
    break;
  }
  case Op::Not:
    d = I.type == T::Pred ? (a & 1) ^ 1 : ~a & m;
    break;
  case Op::Cnot:
    d = a == 0 ? 1 : 0;
    break;
  case Op::Shl: {
    uint64_t b = src(2, 32);
    d = b >= (uint64_t)w ? 0 : (a << b) & m;
    break;
  }
  case Op::Shr: {
    uint64_t b = src(2, 32);
    if (s)
      d = (uint64_t)(sext(a, w) >> std::min<uint64_t>(b, (uint64_t)w - 1)) & m;
    else
      d = b >= (uint64_t)w ? 0 : a >> b;
    break;
  }
  case Op::Bfe: {
    uint64_t pos = src(2, 32) & 0xff, len = src(3, 32) & 0xff;
    uint64_t msb = (uint64_t)w - 1;
    bool sbit = false;
    if (s && len > 0)
      sbit = ((a >> std::min(pos + len - 1, msb)) & 1) != 0;
    for (uint64_t i = 0; i < (uint64_t)w; ++i) {
      bool bit = i < len && pos + i <= msb ? ((a >> (pos + i)) & 1) : sbit;
      if (bit)
        d |= 1ull << i;
    }
    break;
  }
  case Op::Bfi: {
    uint64_t b = src(2, w), pos = src(3, 32) & 0xff, len = src(4, 32) & 0xff;
    d = b;
    for (uint64_t i = 0; i < len && pos + i < (uint64_t)w; ++i) {
      uint64_t bit = 1ull << (pos + i);
      d = (d & ~bit) | (((a >> i) & 1) << (pos + i));
    }
    break;
  }
  case Op::Clz:
    d = a == 0 ? (uint64_t)w : (uint64_t)(__builtin_clzll(a) - (64 - w));
    break;
  case Op::Popc:
    d = (uint64_t)__builtin_popcountll(a);
    break;
  case Op::Brev:
    for (int i = 0; i < w; ++i)
      if ((a >> i) & 1)
        d |= 1ull << (w - 1 - i);
    break;
  case Op::Shf: {
    uint64_t b = src(2, 32), n = src(3, 32);
    n = I.shfWrap ? n & 31 : std::min<uint64_t>(n, 32);
    uint64_t both = (b << 32) | a;
    d = I.shfLeft ? (uint64_t)((both << n) >> 32) & 0xffffffffu
                  : (both >> n) & 0xffffffffu;
    break;
  }
  case Op::Prmt: {
    uint64_t b = src(2, 32), c = src(3, 32);
    uint8_t bytes[8];
    for (int i = 0; i < 4; ++i) {
      bytes[i] = (uint8_t)(a >> (8 * i));
      bytes[4 + i] = (uint8_t)(b >> (8 * i));
    }
    for (int i = 0; i < 4; ++i) {
      uint64_t sel = (c >> (4 * i)) & 0xf;
      uint8_t v = bytes[sel & 7];
      if (sel & 8)
        v = (v & 0x80) ? 0xff : 0;
      d |= (uint64_t)v << (8 * i);
    }
    break;
  }
  default:
    error("internal: not an integer instruction");
  }
  int dw = (I.wide && (I.op == Op::Mul || I.op == Op::Mad)) ? 2 * w : w;
  if (s && dw < 64)
    d = (uint64_t)sext(d, dw);
  write(I.ops[0], d);
}

// f16/bf16/f32/f64 arithmetic on one lane; packed types apply it per half.
double fromBits(T t, uint64_t b) {
  switch (t) {
  case T::F16: return halfToFloat((uint16_t)b);
  case T::BF16: return bf16ToFloat((uint16_t)b);
  case T::F32: return f32(b);
  case T::F64: return f64(b);
  default: return 0;
  }
}
uint64_t toBits(T t, double v) {
  switch (t) {
  case T::F16: return doubleToHalf(v);
  case T::BF16: return doubleToBf16(v);
  case T::F32: return bitsF32((float)v);
  case T::F64: return bitsF64(v);
  default: return 0;
  }
}

// min/max as PTX defines them: without .NaN a NaN input gives the other
// input; +0 > -0.
template <typename F> F minMax(bool isMax, bool nanMode, F a, F b) {
  if (std::isnan(a) || std::isnan(b)) {
    if (nanMode || (std::isnan(a) && std::isnan(b)))
      return std::numeric_limits<F>::quiet_NaN();
    return std::isnan(a) ? b : a;
  }
  if (a == b) // max(+0, -0) = +0, min(+0, -0) = -0
    return isMax ? (std::signbit(a) ? b : a) : (std::signbit(a) ? a : b);
  return (a > b) == isMax ? a : b;
}

// One float instruction on f32 or f64 operands, in the rounding mode set
// by the caller (approximate forms computed exactly).
template <typename F> F arith(const Inst &I, const F *x) {
  switch (I.op) {
  case Op::Add: return x[0] + x[1];
  case Op::Sub: return x[0] - x[1];
  case Op::Mul: return x[0] * x[1];
  case Op::Fma: return std::fma(x[0], x[1], x[2]);
  case Op::Div: return x[0] / x[1];
  case Op::Min:
  case Op::Max: return minMax(I.op == Op::Max, I.nanMode, x[0], x[1]);
  case Op::Abs: return std::fabs(x[0]);
  case Op::Neg: return -x[0];
  case Op::Rcp: return F(1) / x[0];
  case Op::Sqrt: return std::sqrt(x[0]);
  case Op::Rsqrt: return F(1) / std::sqrt(x[0]);
  case Op::Ex2: return std::exp2(x[0]);
  case Op::Lg2: return std::log2(x[0]);
  case Op::Sin: return std::sin(x[0]);
  case Op::Cos: return std::cos(x[0]);
  case Op::Tanh: return std::tanh(x[0]);
  case Op::Copysign: return std::copysign(x[1], x[0]);
  default: break;
  }
  throw LaunchError{"internal: not a float instruction"};
}

void Cta::execFloat(const Inst &I) {
  T lane = I.type == T::F16x2 ? T::F16 : I.type == T::BF16x2 ? T::BF16 : I.type;
  int lanes = lane == I.type ? 1 : 2;
  uint64_t out = 0;
  uint64_t in[3] = {0, 0, 0};
  size_t nin = I.ops.size() - 1;
  for (size_t i = 0; i < nin; ++i)
    in[i] = read(I.ops[i + 1]);
  for (int l = 0; l < lanes; ++l) {
    int shift = 16 * l;
    auto arg = [&](size_t i) -> uint64_t {
      return lanes == 2 ? (in[i] >> shift) & 0xffff : in[i];
    };
    uint64_t r;
    if (lane == T::F32) {
      float x[3];
      for (size_t i = 0; i < nin; ++i) {
        x[i] = f32(arg(i));
        if (I.ftz)
          x[i] = ftz32(x[i]);
      }
      RoundScope rs(I.rnd == R_RN || I.rnd == R_NONE ? R_RN : I.rnd);
      float v = arith(I, x);
      if (I.ftz)
        v = ftz32(v);
      if (I.sat)
        v = std::isnan(v) ? 0.0f : std::min(1.0f, std::max(0.0f, v));
      // A GPU's f32 arithmetic gives the canonical NaN 0x7fffffff
      // (abs/neg/copysign only move the sign bit).
      r = std::isnan(v) && I.op != Op::Abs && I.op != Op::Neg &&
                  I.op != Op::Copysign
              ? 0x7fffffffu
              : bitsF32(v);
    } else if (lane == T::F64) {
      double x[3];
      for (size_t i = 0; i < nin; ++i)
        x[i] = f64(arg(i));
      RoundScope rs(I.rnd == R_RN || I.rnd == R_NONE ? R_RN : I.rnd);
      double v = arith(I, x);
      r = bitsF64(v);
    } else { // f16 / bf16: exact in double, one rounding to the type
      double x[3];
      for (size_t i = 0; i < nin; ++i)
        x[i] = fromBits(lane, arg(i));
      double v = 0;
      switch (I.op) {
      case Op::Add: v = x[0] + x[1]; break;
      case Op::Sub: v = x[0] - x[1]; break;
      case Op::Mul: v = x[0] * x[1]; break;
      case Op::Fma: v = x[0] * x[1] + x[2]; break; // exact product in double
      case Op::Min:
      case Op::Max:
        v = minMax(I.op == Op::Max, I.nanMode, x[0], x[1]);
        break;
      case Op::Abs: v = std::fabs(x[0]); break;
      case Op::Neg: v = -x[0]; break;
      case Op::Ex2: v = std::exp2(x[0]); break;
      case Op::Tanh: v = std::tanh(x[0]); break;
      default: error("unsupported f16/bf16 operation");
      }
      if (I.sat)
        v = std::isnan(v) ? 0.0 : std::min(1.0, std::max(0.0, v));
      if (I.op == Op::Abs || I.op == Op::Neg) // bit operations, NaN kept
        r = (arg(0) & 0x7fff) | (I.op == Op::Neg ? (~arg(0) & 0x8000)
                                                 : 0);
      else
        r = toBits(lane, v);
    }
    out |= lanes == 2 ? (r & 0xffff) << shift : r;
  }
  write(I.ops[0], out);
}

bool compare(uint8_t cmp, double x, double y) {
  bool unordered = std::isnan(x) || std::isnan(y);
  switch (cmp) {
  case C_EQ: return !unordered && x == y;
  case C_NE: return !unordered && x != y;
  case C_LT: return !unordered && x < y;
  case C_LE: return !unordered && x <= y;
  case C_GT: return !unordered && x > y;
  case C_GE: return !unordered && x >= y;
  case C_EQU: return unordered || x == y;
  case C_NEU: return unordered || x != y;
  case C_LTU: return unordered || x < y;
  case C_LEU: return unordered || x <= y;
  case C_GTU: return unordered || x > y;
  case C_GEU: return unordered || x >= y;
  case C_NUM: return !unordered;
  case C_NAN: return unordered;
  }
  return false;
}

void Cta::execSetp(const Inst &I) {
  uint64_t a = read(I.ops[1]), b = read(I.ops[2]);
  bool r;
  if (isFloat(I.type)) {
    double x = fromBits(I.type, a), y = fromBits(I.type, b);
    if (I.ftz && I.type == T::F32)
      x = ftz32((float)x), y = ftz32((float)y);
    r = compare(I.cmp, x, y);
  } else {
    int w = bitsOf(I.type);
    bool s = isSigned(I.type);
    uint64_t m = maskOf(w);
    a &= m, b &= m;
    int64_t sa = sext(a, w), sb = sext(b, w);
    switch (I.cmp) {
    case C_EQ: r = a == b; break;
    case C_NE: r = a != b; break;
    case C_LT: r = s ? sa < sb : a < b; break;
    case C_LE: r = s ? sa <= sb : a <= b; break;
    case C_GT: r = s ? sa > sb : a > b; break;
    case C_GE: r = s ? sa >= sb : a >= b; break;
    case C_LO: r = a < b; break;
    case C_LS: r = a <= b; break;
    case C_HI: r = a > b; break;
    case C_HS: r = a >= b; break;
    default: error("unordered comparison on an integer type");
    }
  }
  bool notR = !r;
  if (I.boolOp) {
    bool c = read(I.ops[3]) & 1;
    auto f = [&](bool v) {
      return I.boolOp == BO_AND ? v && c : I.boolOp == BO_OR ? v || c : v != c;
    };
    r = f(r);
    notR = f(notR);
  }
  const Operand &d = I.ops[0];
  if (d.kind == Operand::Vec && d.pair) {
    write(d.elems[0], r);
    write(d.elems[1], notR);
  } else {
    write(d, r);
  }
}

void Cta::execCvt(const Inst &I) {
  T dt = I.type, st = I.type2;
  if (dt == T::F16x2 || dt == T::BF16x2) {
    // d = {cvt(a) in the upper half, cvt(b) in the lower half}
    if (st != T::F32)
      error("packed cvt needs f32 sources");
    auto one = [&](uint64_t bits) -> uint64_t {
      float f = f32(bits);
      if (I.sat)
        f = std::isnan(f) ? 0.0f : std::min(1.0f, std::max(0.0f, f));
      return dt == T::F16x2 ? doubleToHalf(f) : floatToBf16(f);
    };
    uint64_t hi = one(read(I.ops[1])), lo = one(read(I.ops[2]));
    write(I.ops[0], (hi << 16) | lo);
    return;
  }
  uint64_t a = read(I.ops[1]);
  uint64_t d = 0;
  if (isFloat(st)) {
    double v = fromBits(st, a & maskOf(bitsOf(st)));
    if (I.ftz && st == T::F32)
      v = ftz32((float)v);
    if (isFloat(dt)) {
      if (I.rnd >= R_RNI) { // round to an integral value in the same type
        RoundScope rs(I.rnd);
        v = std::nearbyint(v);
      }
      if (I.sat)
        v = std::isnan(v) ? 0.0 : std::min(1.0, std::max(0.0, v));
      if (dt == T::F32) {
        RoundScope rs(I.rnd == R_NONE || I.rnd >= R_RNI ? R_RN : I.rnd);
        volatile double vv = v;
        float f = (float)vv;
        if (I.ftz)
          f = ftz32(f);
        d = bitsF32(f);
      } else if (dt == T::F16 || dt == T::BF16) {
        if (I.rnd != R_NONE && I.rnd != R_RN)
          error("cvt to f16/bf16 supports only .rn");
        d = toBits(dt, v);
      } else {
        d = bitsF64(v);
      }
    } else { // float to integer: round as asked, saturate, NaN -> 0
      RoundScope rs(I.rnd == R_NONE ? R_RZI : I.rnd);
      double r = std::isnan(v) ? 0.0 : std::nearbyint(v);
      int w = bitsOf(dt);
      if (isSigned(dt)) {
        double hiV = std::ldexp(1.0, w - 1);
        int64_t x = r >= hiV ? (int64_t)(maskOf(w) >> 1)
                    : r < -hiV ? -(int64_t)(maskOf(w) >> 1) - 1
                               : (int64_t)r;
        d = (uint64_t)x & maskOf(w);
        if (w < 64)
          d = (uint64_t)sext(d, w);
      } else {
        double hiV = std::ldexp(1.0, w);
        d = r <= 0 ? 0 : r >= hiV ? maskOf(w) : (uint64_t)r;
      }
    }
  } else {
    int sw = bitsOf(st);
    bool ss = isSigned(st);
    int64_t sv = ss ? sext(a, sw) : (int64_t)(a & maskOf(sw));
    uint64_t uv = a & maskOf(sw);
    if (isFloat(dt)) {
      RoundScope rs(I.rnd == R_NONE ? R_RN : I.rnd);
      double v;
      if (dt == T::F32) {
        volatile int64_t vs = sv;
        volatile uint64_t vu = uv;
        float f = ss ? (float)vs : (float)vu;
        d = bitsF32(f);
      } else if (dt == T::F64) {
        volatile int64_t vs = sv;
        volatile uint64_t vu = uv;
        v = ss ? (double)vs : (double)vu;
        d = bitsF64(v);
      } else {
        float f = ss ? (float)sv : (float)uv; // |ids| < 2^24 in practice
        d = toBits(dt, f);
      }
    } else {
      int w = bitsOf(dt);
      if (I.sat) {
        bool ds = isSigned(dt);
        __int128 v = ss ? (__int128)sv : (__int128)uv;
        __int128 hiV = ds ? (__int128)(maskOf(w) >> 1) : (__int128)maskOf(w);
        __int128 loV = ds ? -hiV - 1 : 0;
        v = v > hiV ? hiV : v < loV ? loV : v;
        d = (uint64_t)v & maskOf(w);
      } else {
        d = (uint64_t)sv & maskOf(w);
      }
      if (isSigned(dt) && w < 64)
        d = (uint64_t)sext(d, w);
    }
  }
  write(I.ops[0], d);
}

//===----------------------------------------------------------------------===//
// Memory instructions
//===----------------------------------------------------------------------===//

void Cta::execMemory(const Inst &I) {
  int w = bitsOf(I.type);
  if (I.type == T::Pred)
    error("ld/st of .pred");
  int bytes = w / 8;
  const Operand &addrOp = I.op == Op::Ld ? I.ops[1] : I.ops[0];
  const Operand &val = I.op == Op::Ld ? I.ops[0] : I.ops[1];
  if (addrOp.kind != Operand::Addr)
    error("expected an address operand");
  uint64_t addr = address(addrOp);
  int total = bytes * I.vec;
  uint8_t *p = memory(I.space, addr, total, I.op == Op::St);
  for (int e = 0; e < I.vec; ++e) {
    const Operand &o = I.vec == 1 ? val : val.elems[(size_t)e];
    if (I.op == Op::Ld) {
      uint64_t v = 0;
      std::memcpy(&v, p + e * bytes, (size_t)std::min(bytes, 8));
      if (isSigned(I.type) && w < 64)
        v = (uint64_t)sext(v, w);
      write(o, v);
    } else {
      uint64_t v = read(o);
      std::memcpy(p + e * bytes, &v, (size_t)std::min(bytes, 8));
    }
  }
}

void Cta::execAtom(const Inst &I) {
  int w = bitsOf(I.type);
  int bytes = w / 8;
  bool isAtom = I.op == Op::Atom;
  const Operand &addrOp = I.ops[isAtom ? 1 : 0];
  uint64_t addr = address(addrOp);
  Space resolved;
  uint8_t *p = memory(I.space, addr, bytes, true, &resolved, Atomic);
  uint64_t b = read(I.ops[isAtom ? 2 : 1]);
  uint64_t c = I.atom == A_CAS ? read(I.ops[3]) : 0;
  uint64_t m = maskOf(w);
  b &= m, c &= m;
  auto combine = [&](uint64_t old) -> uint64_t {
    switch (I.atom) {
    case A_ADD:
      if (I.type == T::F32)
        return bitsF32(f32(old) + f32(b));
      if (I.type == T::F64)
        return bitsF64(f64(old) + f64(b));
      return (old + b) & m;
    case A_MIN:
      return isSigned(I.type) ? (sext(old, w) < sext(b, w) ? old : b)
                              : std::min(old, b);
    case A_MAX:
      return isSigned(I.type) ? (sext(old, w) > sext(b, w) ? old : b)
                              : std::max(old, b);
    case A_AND: return old & b;
    case A_OR: return old | b;
    case A_XOR: return old ^ b;
    case A_EXCH: return b;
    case A_CAS: return old == b ? c : old;
    case A_INC: return old >= b ? 0 : old + 1;
    case A_DEC: return (old == 0 || old > b) ? b : old - 1;
    }
    return old;
  };
  uint64_t old = 0;
  if (resolved == Space::Global && (bytes == 4 || bytes == 8)) {
    // Other CTAs may run on other host threads.
    if (bytes == 8) {
      auto *q = reinterpret_cast<uint64_t *>(p);
      old = __atomic_load_n(q, __ATOMIC_SEQ_CST);
      while (!__atomic_compare_exchange_n(q, &old, combine(old), false,
                                          __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
      }
    } else {
      auto *q = reinterpret_cast<uint32_t *>(p);
      uint32_t o32 = __atomic_load_n(q, __ATOMIC_SEQ_CST);
      while (!__atomic_compare_exchange_n(q, &o32, (uint32_t)combine(o32),
                                          false, __ATOMIC_SEQ_CST,
                                          __ATOMIC_SEQ_CST)) {
      }
      old = o32;
    }
  } else {
    std::memcpy(&old, p, (size_t)bytes);
    uint64_t n = combine(old);
    std::memcpy(p, &n, (size_t)bytes);
  }
  if (isAtom) {
    if (isSigned(I.type) && w < 64)
      old = (uint64_t)sext(old, w);
    write(I.ops[0], old);
  }
}

void Cta::execCpAsync(const Inst &I) {
  uint64_t dst = address(I.ops[0]), src = address(I.ops[1]);
  uint64_t size = read(I.ops[2]);
  bool hasSrcSize = I.ops.size() == 5 || (I.ops.size() == 4 && !I.ignoreSrc);
  uint64_t srcSize = hasSrcSize ? read(I.ops[3]) & 0xffffffffu : size;
  if (I.ignoreSrc && (read(I.ops.back()) & 1))
    srcSize = 0; // the source is ignored: the destination is zero-filled
  if (srcSize > size)
    error("cp.async src-size %llu exceeds cp-size %llu",
          (unsigned long long)srcSize, (unsigned long long)size);
  if (src % size != 0)
    error("cp.async source 0x%llx is not aligned to its %llu bytes",
          (unsigned long long)src, (unsigned long long)size);
  PendingCopy c;
  c.dst = (uint32_t)dst;
  c.n = (uint8_t)size;
  c.group = th->openGroup;
  std::memset(c.bytes, 0, sizeof c.bytes);
  if (srcSize > 0) {
    uint8_t *s = memory(Space::Global, src, (int)srcSize, false);
    // (src-size below cp-size zero-fills the rest)
    std::memcpy(c.bytes, s, (size_t)srcSize);
  }
  // Until the wait, the destination holds nothing a reader may rely on.
  uint8_t *d = memory(Space::Shared, dst, (int)size, true, nullptr, CopyIssue);
  std::memset(d, 0xff, (size_t)size);
  th->pending.push_back(c);
}

// Lands every pending copy of a committed group older than the newest
// `keep` groups (cp.async.wait_group keep); keep < 0 lands all.
void Cta::retire(Thread &t, int keep) {
  int limit = keep < 0 ? INT32_MAX : t.openGroup - keep;
  size_t w = 0;
  for (size_t i = 0; i < t.pending.size(); ++i) {
    PendingCopy &c = t.pending[i];
    if (c.group < limit) {
      uint8_t *d = memory(Space::Shared, c.dst, c.n, true, nullptr, CopyLand);
      std::memcpy(d, c.bytes, c.n);
    } else {
      t.pending[w++] = c;
    }
  }
  t.pending.resize(w);
}

void Cta::execCall(const Inst &I) {
  const Function &callee = lc.m->functions[(size_t)I.target];
  if (!callee.defined)
    error("call to '%s', which has no body", callee.name.c_str());
  if (th->frames.size() > 64)
    error("call depth over 64");
  if (I.callArgs.size() != callee.params.size() ||
      I.callRets.size() != callee.rets.size())
    error("call to '%s' with the wrong number of arguments",
          callee.name.c_str());
  Frame f;
  f.fn = &callee;
  f.regs.assign((size_t)callee.numRegs, ~0ull);
  f.params.assign((size_t)callee.paramBytes + 8, 0);
  Frame &caller = th->frames.back();
  for (size_t i = 0; i < I.callArgs.size(); ++i)
    std::memcpy(f.params.data() + callee.params[i].offset,
                caller.params.data() + I.callArgs[i].first,
                (size_t)std::min(I.callArgs[i].second, callee.params[i].size));
  f.localBase = caller.localBase + (uint64_t)caller.fn->localBytes;
  f.localBase = (f.localBase + 15) / 16 * 16;
  size_t need = (size_t)(f.localBase + (uint64_t)callee.localBytes + 8);
  if (th->local.size() < need)
    th->local.resize(need, 0xff);
  std::fill(th->local.begin() + (long)f.localBase, th->local.begin() + (long)need,
            0xff);
  f.call = &I;
  caller.pc += 1;
  th->frames.push_back(std::move(f));
}

// Returns false when the thread's kernel returned.
bool Cta::execRet() {
  if (th->frames.size() == 1)
    return false;
  Frame done = std::move(th->frames.back());
  th->frames.pop_back();
  Frame &caller = th->frames.back();
  const Inst &call = *done.call;
  for (size_t i = 0; i < call.callRets.size(); ++i)
    std::memcpy(caller.params.data() + call.callRets[i].first,
                done.params.data() + done.fn->rets[i].offset,
                (size_t)std::min(call.callRets[i].second, done.fn->rets[i].size));
  return true;
}

//===----------------------------------------------------------------------===//
// The thread interpreter
//===----------------------------------------------------------------------===//

void Cta::runThread(Thread &t) {
  th = &t;
  while (t.state == State::Running) {
    Frame &f = t.frames.back();
    const Inst &I = f.fn->code[(size_t)f.pc];
    inst = &I;
    ++counts[I.cls];
    if (lc.profile > 1)
      ++opcodeCounts[I.opcodeId];
    if (++t.executed > lc.maxSteps)
      error("thread ran more than %llu instructions (an endless loop? "
            "PTXEMU_MAX_STEPS raises the limit)",
            (unsigned long long)lc.maxSteps);
    if (I.guard >= 0) {
      bool g = (f.regs[(size_t)I.guard] & 1) != 0;
      if (g == I.guardNeg) {
        ++f.pc;
        continue;
      }
    }
    switch (I.op) {
    case Op::Add: case Op::Sub: case Op::Mul: case Op::Mad: case Op::Div:
    case Op::Min: case Op::Max: case Op::Abs: case Op::Neg:
      if (isFloat(I.type))
        execFloat(I);
      else
        execInt(I);
      break;
    case Op::Rem: case Op::And: case Op::Or: case Op::Xor: case Op::Not:
    case Op::Cnot: case Op::Shl: case Op::Shr: case Op::Bfe: case Op::Bfi:
    case Op::Clz: case Op::Popc: case Op::Brev: case Op::Shf: case Op::Prmt:
      execInt(I);
      break;
    case Op::Fma: case Op::Rcp: case Op::Sqrt: case Op::Rsqrt: case Op::Ex2:
    case Op::Lg2: case Op::Sin: case Op::Cos: case Op::Tanh: case Op::Copysign:
      execFloat(I);
      break;
    case Op::Testp: {
      double v = fromBits(I.type, read(I.ops[1]));
      int c = std::fpclassify(v);
      if (I.type == T::F32)
        c = std::fpclassify((float)v);
      bool r = I.cmp == 0 ? std::isfinite(v)
               : I.cmp == 1 ? std::isinf(v)
               : I.cmp == 2 ? !std::isnan(v)
               : I.cmp == 3 ? std::isnan(v)
               : I.cmp == 4 ? c == FP_NORMAL
                            : c == FP_SUBNORMAL;
      write(I.ops[0], r);
      break;
    }
    case Op::Setp:
      execSetp(I);
      break;
    case Op::Selp: {
      bool c = read(I.ops[3]) & 1;
      write(I.ops[0], read(I.ops[c ? 1 : 2]) & maskOf(bitsOf(I.type)));
      break;
    }
    case Op::Mov: {
      const Operand &d = I.ops[0], &s = I.ops[1];
      int w = bitsOf(I.type);
      if (d.kind == Operand::Vec) { // unpack
        uint64_t v = read(s);
        int ew = w / (int)d.elems.size();
        for (size_t e = 0; e < d.elems.size(); ++e)
          write(d.elems[e], (v >> (ew * (int)e)) & maskOf(ew));
      } else if (s.kind == Operand::Vec) { // pack
        uint64_t v = 0;
        int ew = w / (int)s.elems.size();
        for (size_t e = 0; e < s.elems.size(); ++e)
          v |= (read(s.elems[e]) & maskOf(ew)) << (ew * (int)e);
        write(d, v);
      } else {
        uint64_t v = read(s);
        write(d, I.type == T::Pred ? v & 1 : v & maskOf(w));
      }
      break;
    }
    case Op::Cvt:
      execCvt(I);
      break;
    case Op::Cvta: {
      uint64_t a = read(I.ops[1]);
      uint64_t base = I.space2 == Space::Shared
                          ? (uint64_t)(uintptr_t)shared.data()
                      : I.space2 == Space::Local
                          ? (uint64_t)(uintptr_t)t.local.data()
                          : 0;
      write(I.ops[0], I.toShared ? a - base : a + base);
      break;
    }
    case Op::Ld:
    case Op::St:
      execMemory(I);
      break;
    case Op::Atom:
    case Op::Red:
      execAtom(I);
      break;
    case Op::CpAsync:
      execCpAsync(I);
      break;
    case Op::CpAsyncCommit:
      ++t.openGroup;
      break;
    case Op::CpAsyncWait:
      retire(t, (int)read(I.ops[0]));
      break;
    case Op::CpAsyncWaitAll:
      ++t.openGroup;
      retire(t, -1);
      break;
    case Op::Ldmatrix:
      t.scratch[0] = address(I.ops[1]);
      t.state = State::AtCollective;
      t.waitAt = &I;
      return;
    case Op::Mma: {
      const Operand *ins[3] = {&I.ops[1], &I.ops[2], &I.ops[3]};
      int k = 0;
      for (const Operand *o : ins)
        for (const Operand &e : o->elems)
          t.scratch[k++] = read(e) & 0xffffffffu;
      t.state = State::AtCollective;
      t.waitAt = &I;
      return;
    }
    case Op::Shfl:
      t.scratch[0] = read(I.ops[1]) & 0xffffffffu;
      t.scratch[1] = read(I.ops[2]) & 0xffffffffu;
      t.scratch[2] = read(I.ops[3]) & 0xffffffffu;
      t.scratch[3] = read(I.ops[4]) & 0xffffffffu;
      t.state = State::AtCollective;
      t.waitAt = &I;
      return;
    case Op::BarWarp:
      t.scratch[3] = read(I.ops[0]) & 0xffffffffu;
      t.state = State::AtCollective;
      t.waitAt = &I;
      return;
    case Op::Bar: {
      uint64_t id = read(I.ops[0]);
      if (id != 0)
        error("only barrier 0 is supported");
      if (I.ops.size() > 1 && read(I.ops[1]) != (uint64_t)nthreads)
        error("barriers over part of the CTA are not supported");
      t.state = State::AtBarrier;
      t.waitAt = &I;
      ++f.pc;
      return;
    }
    case Op::Bra:
      f.pc = I.target;
      continue;
    case Op::Brx: {
      uint64_t i = read(I.ops[0]) & 0xffffffffu;
      if (i >= I.targets.size())
        error("brx.idx index %llu is outside its %zu targets",
              (unsigned long long)i, I.targets.size());
      f.pc = I.targets[(size_t)i];
      continue;
    }
    case Op::Call:
      execCall(I);
      continue;
    case Op::Ret:
      if (execRet())
        continue;
      [[fallthrough]];
    case Op::Exit:
      if (!t.pending.empty())
        retire(t, -1);
      t.state = State::Exited;
      return;
    case Op::Nop:
      break;
    }
    ++f.pc;
  }
}

//===----------------------------------------------------------------------===//
// Collectives
//===----------------------------------------------------------------------===//

void Cta::execLdmatrix(int warp, const Inst &I) {
  Thread *ts = &threads[(size_t)warp * 32];
  int n = I.ldmN;
  // Thread 8*j + r gives the address of row r of matrix j.
  uint16_t mat[4][8][8];
  for (int j = 0; j < n; ++j)
    for (int r = 0; r < 8; ++r) {
      th = &ts[8 * j + r];
      inst = &I;
      uint8_t *row = memory(Space::Shared, ts[8 * j + r].scratch[0], 16, false);
      std::memcpy(mat[j][r], row, 16);
    }
  for (int l = 0; l < 32; ++l) {
    th = &ts[l];
    const Operand &d = I.ops[0];
    for (int j = 0; j < n; ++j) {
      uint32_t lo, hi;
      if (!I.trans) {
        lo = mat[j][l / 4][2 * (l % 4)];
        hi = mat[j][l / 4][2 * (l % 4) + 1];
      } else {
        lo = mat[j][2 * (l % 4)][l / 4];
        hi = mat[j][2 * (l % 4) + 1][l / 4];
      }
      const Operand &o = d.kind == Operand::Vec ? d.elems[(size_t)j] : d;
      write(o, lo | (hi << 16));
    }
  }
}

void Cta::execMma(int warp, const Inst &I) {
  Thread *ts = &threads[(size_t)warp * 32];
  const int K = I.mmaK8 ? 8 : 16;
  const int na = I.mmaK8 ? 2 : 4, nb = I.mmaK8 ? 1 : 2;
  if ((int)I.ops[1].elems.size() != na || (int)I.ops[2].elems.size() != nb ||
      I.ops[3].elems.size() != 4 || I.ops[0].elems.size() != 4)
    error("mma operand vectors have the wrong sizes");
  double A[16][16], B[16][8], C[16][8];
  T et = I.type2;
  auto half = [&](uint64_t reg, int h) {
    return fromBits(et, (reg >> (16 * h)) & 0xffff);
  };
  for (int l = 0; l < 32; ++l) {
    const uint64_t *s = ts[l].scratch;
    int g = l >> 2, q = l & 3;
    // A (PTX ISA, mma.m16n8k16 .f16/.bf16 fragments): a0,a1: row g, cols
    // 2q,2q+1; a2,a3: row g+8; a4..a7: the same rows, cols + 8.
    for (int r = 0; r < na; ++r)
      for (int h = 0; h < 2; ++h) {
        int row = g + ((r & 1) ? 8 : 0);
        int col = 2 * q + h + ((r & 2) ? 8 : 0);
        A[row][col] = half(s[r], h);
      }
    // B: b0,b1: rows (k) 2q,2q+1 of column g; b2,b3: rows + 8.
    for (int r = 0; r < nb; ++r)
      for (int h = 0; h < 2; ++h)
        B[2 * q + h + 8 * r][g] = half(s[na + r], h);
    // C/D: c0,c1: row g, cols 2q,2q+1; c2,c3: row g+8.
    for (int r = 0; r < 4; ++r)
      C[g + (r >= 2 ? 8 : 0)][2 * q + (r & 1)] = f32(s[na + nb + r]);
  }
  for (int l = 0; l < 32; ++l) {
    th = &ts[l];
    int g = l >> 2, q = l & 3;
    for (int r = 0; r < 4; ++r) {
      int row = g + (r >= 2 ? 8 : 0), col = 2 * q + (r & 1);
      double acc = 0;
      for (int k = 0; k < K; ++k)
        acc += A[row][k] * B[k][col];
      write(I.ops[0].elems[(size_t)r], bitsF32((float)(acc + C[row][col])));
    }
  }
}

void Cta::execShfl(int warp, const Inst &I) {
  Thread *ts = &threads[(size_t)warp * 32];
  uint32_t values[32];
  for (int l = 0; l < 32; ++l)
    values[l] = (uint32_t)ts[l].scratch[0];
  for (int l = 0; l < 32; ++l) {
    th = &ts[l];
    uint32_t b = (uint32_t)ts[l].scratch[1] & 31, c = (uint32_t)ts[l].scratch[2];
    uint32_t clamp = c & 31, segmask = (c >> 8) & 31;
    uint32_t maxLane = ((uint32_t)l & segmask) | (clamp & ~segmask);
    uint32_t minLane = (uint32_t)l & segmask;
    int j;
    bool pval;
    switch (I.shfl) {
    case SH_UP: j = l - (int)b; pval = j >= (int)maxLane; break;
    case SH_DOWN: j = l + (int)b; pval = j <= (int)maxLane; break;
    case SH_BFLY: j = l ^ (int)b; pval = j <= (int)maxLane; break;
    default: j = (int)(minLane | (b & ~segmask)); pval = j <= (int)maxLane; break;
    }
    if (!pval)
      j = l;
    const Operand &d = I.ops[0];
    if (d.kind == Operand::Vec && d.pair) {
      write(d.elems[0], values[j]);
      write(d.elems[1], pval);
    } else {
      write(d, values[j]);
    }
  }
}

// Runs the collective the live threads of `warp` wait at.
void Cta::collective(int warp) {
  Thread *ts = &threads[(size_t)warp * 32];
  int n = std::min(32, nthreads - warp * 32);
  const Inst *I = nullptr;
  for (int l = 0; l < n; ++l)
    if (ts[l].state == State::AtCollective) {
      I = ts[l].waitAt;
      break;
    }
  th = nullptr;
  for (int l = 0; l < n; ++l) {
    if (ts[l].state != State::AtCollective || ts[l].waitAt != I) {
      th = &ts[l];
      inst = I;
      if (ts[l].state == State::Exited)
        error("warp %d: lane %d has exited while its warp waits at a warp "
              "collective", warp, l);
      error("warp %d diverged: lane %d is not at this warp collective (it "
            "waits at line %d)", warp, l,
            ts[l].waitAt ? ts[l].waitAt->line : 0);
    }
    // shfl/bar.warp membermask must name all 32 lanes for our kernels.
    if ((I->op == Op::Shfl || I->op == Op::BarWarp) &&
        (uint32_t)ts[l].scratch[3] != 0xffffffffu) {
      th = &ts[l];
      inst = I;
      error("membermask 0x%x: only full-warp masks are supported",
            (unsigned)ts[l].scratch[3]);
    }
  }
  if (n != 32) {
    th = &ts[0];
    inst = I;
    error("warp collective in a partial warp of %d threads", n);
  }
  switch (I->op) {
  case Op::Ldmatrix: execLdmatrix(warp, *I); break;
  case Op::Mma: execMma(warp, *I); break;
  case Op::Shfl: execShfl(warp, *I); break;
  case Op::BarWarp: break;
  default: break;
  }
  for (int l = 0; l < n; ++l) {
    ts[l].state = State::Running;
    ts[l].waitAt = nullptr;
    ts[l].frames.back().pc += 1;
  }
}

void Cta::run(unsigned bx, unsigned by, unsigned bz) {
  ctaid[0] = bx, ctaid[1] = by, ctaid[2] = bz;
  std::fill(shared.begin(), shared.end(), 0xff);
  if (lc.racecheck)
    std::fill(shadow.begin(), shadow.end(), Shadow());
  std::fill(inflight.begin(), inflight.end(), 0);
  epoch = 1;
  for (int i = 0; i < nthreads; ++i)
    start(threads[(size_t)i], i);
  for (;;) {
    bool progress = false;
    for (int w = 0; w < nwarps; ++w) {
      Thread *ts = &threads[(size_t)w * 32];
      int n = std::min(32, nthreads - w * 32);
      // Run every runnable thread of the warp until it blocks (none is
      // left running), then the warp's collective if any lane waits at one
      // (collective() checks that every live lane waits at the same one).
      for (;;) {
        bool atCollective = false;
        for (int l = 0; l < n; ++l) {
          if (ts[l].state == State::Running) {
            runThread(ts[l]);
            progress = true;
          }
          atCollective |= ts[l].state == State::AtCollective;
        }
        if (!atCollective)
          break;
        collective(w);
        progress = true;
      }
    }
    int exited = 0, atBarrier = 0;
    for (const Thread &t : threads) {
      exited += t.state == State::Exited;
      atBarrier += t.state == State::AtBarrier;
    }
    if (exited == nthreads) {
      for (const Thread &t : threads)
        longestThread = std::max(longestThread, t.executed);
      return;
    }
    // Threads that have exited count as arrived, as on hardware.
    if (atBarrier > 0 && atBarrier + exited == nthreads) {
      // bar.sync is barrier.sync.aligned: every thread at the same one.
      const Thread *first = nullptr;
      for (Thread &t : threads)
        if (t.state == State::AtBarrier) {
          if (!first) {
            first = &t;
          } else if (t.waitAt != first->waitAt) {
            th = &t;
            inst = t.waitAt;
            error("threads wait at different barriers: thread (%u,%u,%u) "
                  "at line %d", first->tid[0], first->tid[1], first->tid[2],
                  first->waitAt->line);
          }
        }
      ++epoch;
      for (Thread &t : threads)
        if (t.state == State::AtBarrier) {
          t.state = State::Running;
          t.waitAt = nullptr;
        }
      continue;
    }
    if (!progress) {
      // Nothing can move: name what waits where.
      std::map<int, int> at;
      for (const Thread &t : threads)
        if (t.state != State::Exited && t.waitAt)
          at[t.waitAt->line]++;
      std::string s;
      for (auto &[line, count] : at)
        s += (s.empty() ? "" : ", ") + std::to_string(count) +
             " threads at line " + std::to_string(line);
      th = nullptr;
      error("deadlock in block (%u,%u,%u): %s (%d exited)", bx, by, bz,
            s.c_str(), exited);
    }
  }
}

} // namespace

//===----------------------------------------------------------------------===//
// C API
//===----------------------------------------------------------------------===//

extern "C" ptxemu_module *ptxemu_load(const char *ptx, char *log,
                                      size_t log_size) {
  auto m = std::make_unique<ptxemu_module>();
  std::string text = ptx ? ptx : "";
  {
    size_t i = 0;
    while (i <= text.size()) {
      size_t j = text.find('\n', i);
      if (j == std::string::npos)
        j = text.size();
      m->lines.push_back(text.substr(i, j - i));
      i = j + 1;
    }
  }
  try {
    Parser parser(*m, lex(text));
    parser.parseModule();
  } catch (const ParseError &e) {
    if (log && log_size > 0)
      std::snprintf(log, log_size, "ptxemu: line %d: %s", e.line,
                    e.message.c_str());
    return nullptr;
  }
  return m.release();
}

extern "C" void ptxemu_unload(ptxemu_module *m) { delete m; }

extern "C" int ptxemu_find_kernel(const ptxemu_module *m, const char *name,
                                  ptxemu_kernel_info *info) {
  auto it = m->functionIndex.find(name);
  if (it == m->functionIndex.end())
    return -1;
  const Function &f = m->functions[(size_t)it->second];
  if (!f.entry || !f.defined || f.params.size() > 64)
    return -1;
  std::memset(info, 0, sizeof *info);
  info->index = it->second;
  info->num_params = (int)f.params.size();
  for (size_t i = 0; i < f.params.size(); ++i) {
    info->param_sizes[i] = f.params[i].size;
    info->param_offsets[i] = f.params[i].offset;
  }
  info->params_bytes =
      f.params.empty() ? 0 : f.params.back().offset + f.params.back().size;
  info->static_shared_bytes = m->moduleSharedBytes + f.sharedBytes;
  info->max_threads = f.maxThreads;
  return 0;
}

extern "C" int ptxemu_launch(ptxemu_module *m, int kernel,
                             const unsigned grid[3], const unsigned block[3],
                             unsigned dynamic_shared, const void *params,
                             ptxemu_global_check check, void *check_ctx,
                             int threads, char *err, size_t err_size) {
  auto fail = [&](const std::string &msg) {
    if (err && err_size > 0)
      std::snprintf(err, err_size, "%s", msg.c_str());
    return -1;
  };
  if (kernel < 0 || (size_t)kernel >= m->functions.size() ||
      !m->functions[(size_t)kernel].entry)
    return fail("ptxemu: no such kernel");
  const Function &f = m->functions[(size_t)kernel];
  uint64_t nthreads = (uint64_t)block[0] * block[1] * block[2];
  if (nthreads == 0 || nthreads > (uint64_t)f.maxThreads)
    return fail("ptxemu: block of " + std::to_string(nthreads) +
                " threads for a kernel of at most " +
                std::to_string(f.maxThreads));
  LaunchContext lc;
  lc.m = m;
  lc.kernel = &f;
  for (int i = 0; i < 3; ++i)
    lc.grid[i] = grid[i], lc.block[i] = block[i];
  lc.params = static_cast<const uint8_t *>(params);
  lc.check = check;
  lc.checkCtx = check_ctx;
  int statics = m->moduleSharedBytes + f.sharedBytes;
  lc.dynamicBase = (statics + 15) / 16 * 16;
  lc.sharedBytes = lc.dynamicBase + (int)dynamic_shared;
  const char *rc = std::getenv("PTXEMU_RACECHECK");
  lc.racecheck = !(rc && std::strcmp(rc, "0") == 0);
  if (const char *steps = std::getenv("PTXEMU_MAX_STEPS"))
    lc.maxSteps = std::strtoull(steps, nullptr, 10);
  const char *prof = std::getenv("PTXEMU_PROFILE");
  lc.profile = prof ? std::atoi(prof) : 0;
  uint64_t total[K_COUNT] = {};
  uint64_t longest = 0;
  std::vector<uint64_t> opcodeTotal(m->opcodes.size() + 1, 0);

  uint64_t ctas = (uint64_t)grid[0] * grid[1] * grid[2];
  if (threads <= 0)
    threads = (int)std::max(1u, std::thread::hardware_concurrency());
  threads = (int)std::min<uint64_t>((uint64_t)threads, std::max<uint64_t>(ctas, 1));
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::string firstError;
  auto worker = [&] {
    // Every worker rounds to nearest unless an instruction says otherwise.
    Cta cta(lc);
    cta.opcodeCounts.assign(m->opcodes.size() + 1, 0);
    for (;;) {
      uint64_t i = next.fetch_add(1);
      if (i >= ctas || failed.load()) {
        std::lock_guard<std::mutex> g(mu);
        for (int c = 0; c < K_COUNT; ++c)
          total[c] += cta.counts[c];
        longest = std::max(longest, cta.longestThread);
        for (size_t o = 0; o < opcodeTotal.size(); ++o)
          opcodeTotal[o] += cta.opcodeCounts[o];
        return;
      }
      unsigned bx = (unsigned)(i % grid[0]);
      unsigned by = (unsigned)(i / grid[0] % grid[1]);
      unsigned bz = (unsigned)(i / ((uint64_t)grid[0] * grid[1]));
      try {
        cta.run(bx, by, bz);
      } catch (const LaunchError &e) {
        std::lock_guard<std::mutex> g(mu);
        if (!failed.exchange(true))
          firstError = e.message;
        return;
      }
    }
  };
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i)
      pool.emplace_back(worker);
    for (std::thread &t : pool)
      t.join();
  }
  if (failed)
    return fail("ptxemu: " + firstError);
  if (lc.profile) {
    // Warp instructions (issue slots) by class, and per mma.sync: a kernel
    // issuing more than a few other instructions per mma cannot keep the
    // tensor cores busy.
    uint64_t all = 0;
    for (uint64_t c : total)
      all += c;
    std::string line;
    char buf[128];
    std::snprintf(buf, sizeof buf,
                  "ptxemu profile: %s grid %ux%ux%u block %u: %.0f warp "
                  "instructions",
                  f.name.c_str(), grid[0], grid[1], grid[2],
                  (unsigned)nthreads, all / 32.0);
    line = buf;
    if (total[K_MMA]) {
      std::snprintf(buf, sizeof buf, ", %.2f per mma.sync",
                    (double)all / (double)total[K_MMA]);
      line += buf;
    }
    // The critical path of a latency-bound kernel.
    std::snprintf(buf, sizeof buf, ", longest thread %llu",
                  (unsigned long long)longest);
    line += buf;
    line += ":";
    std::vector<int> order;
    for (int c = 0; c < K_COUNT; ++c)
      if (total[c])
        order.push_back(c);
    std::sort(order.begin(), order.end(),
              [&](int a, int b) { return total[a] > total[b]; });
    for (int c : order) {
      std::snprintf(buf, sizeof buf, " %s %.1f%%", kClsNames[c],
                    100.0 * (double)total[c] / (double)all);
      line += buf;
    }
    std::fprintf(stderr, "%s\n", line.c_str());
    if (lc.profile > 1) {
      std::vector<size_t> ids;
      for (size_t o = 0; o < m->opcodes.size(); ++o)
        if (opcodeTotal[o])
          ids.push_back(o);
      std::sort(ids.begin(), ids.end(), [&](size_t a, size_t b) {
        return opcodeTotal[a] > opcodeTotal[b];
      });
      for (size_t o : ids)
        std::fprintf(stderr, "  %10.0f %5.1f%%  %s\n", opcodeTotal[o] / 32.0,
                     100.0 * (double)opcodeTotal[o] / (double)all,
                     m->opcodes[o].c_str());
    }
  }
  return 0;
}
