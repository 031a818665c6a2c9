//===- PtxEmuTest.cpp - The PTX interpreter's semantics and checks --------===//
//
// Hand-written PTX kernels whose results are computed independently on the
// host: the tensor-core fragment layouts (written here from the PTX ISA's
// formulas, not from the interpreter's tables), ldmatrix, shfl, cp.async
// groups, carry chains, conversions and rounding; and the checks that make
// the interpreter useful as a sanitizer (bounds, races, divergence), each
// shown to fire on a kernel that has the bug and to stay quiet on the same
// kernel without it.
//
//===----------------------------------------------------------------------===//

#include "PtxEmu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

const char *kHeader = ".version 8.0\n.target sm_80\n.address_size 64\n";

struct Region {
  uint64_t begin, end;
};

int inRegions(uint64_t addr, uint64_t size, void *ctx) {
  for (const Region &r : *static_cast<std::vector<Region> *>(ctx))
    if (addr >= r.begin && addr + size <= r.end)
      return 1;
  return 0;
}

/// Loads `body` (after the header), launches `kernel` with pointer
/// parameters, and returns "" or the interpreter's error.
struct Emu {
  std::vector<Region> regions;
  std::vector<uint64_t> params;

  template <typename T> void arg(std::vector<T> &buffer) {
    uint64_t p = (uint64_t)(uintptr_t)buffer.data();
    regions.push_back({p, p + buffer.size() * sizeof(T)});
    params.push_back(p);
  }

  std::string run(const std::string &body, const char *kernel,
                  unsigned threads, unsigned blocks = 1) {
    std::string ptx = std::string(kHeader) + body;
    char log[1024] = {0};
    ptxemu_module *m = ptxemu_load(ptx.c_str(), log, sizeof log);
    if (!m)
      return std::string("load: ") + log;
    ptxemu_kernel_info info;
    if (ptxemu_find_kernel(m, kernel, &info) != 0) {
      ptxemu_unload(m);
      return "no kernel";
    }
    std::vector<uint8_t> packed((size_t)info.params_bytes + 8);
    for (int i = 0; i < info.num_params && i < (int)params.size(); ++i)
      std::memcpy(packed.data() + info.param_offsets[i], &params[(size_t)i], 8);
    unsigned grid[3] = {blocks, 1, 1}, block[3] = {threads, 1, 1};
    char err[2048] = {0};
    int rc = ptxemu_launch(m, info.index, grid, block, 0, packed.data(),
                           inRegions, &regions, 1, err, sizeof err);
    ptxemu_unload(m);
    return rc == 0 ? "" : err;
  }
};

uint16_t bf16(float f) { // exact for the small integers used here
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return (uint16_t)(b >> 16);
}
float f32(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
uint32_t bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// Each lane loads its fragments (A: 4 regs, B: 2, C: 4), runs one mma and
// stores D (4 regs).
const char *kMma = R"(
.visible .entry mma(.param .u64 pa, .param .u64 pb, .param .u64 pc,
                    .param .u64 pd)
{
  .reg .b32 %r<20>;
  .reg .b64 %rd<12>;
  ld.param.u64 %rd1, [pa];
  ld.param.u64 %rd2, [pb];
  ld.param.u64 %rd3, [pc];
  ld.param.u64 %rd4, [pd];
  mov.u32 %r0, %tid.x;
  mul.wide.u32 %rd5, %r0, 16;
  add.s64 %rd6, %rd1, %rd5;
  ld.global.v4.b32 {%r1, %r2, %r3, %r4}, [%rd6];
  mul.wide.u32 %rd7, %r0, 8;
  add.s64 %rd8, %rd2, %rd7;
  ld.global.v2.b32 {%r5, %r6}, [%rd8];
  add.s64 %rd9, %rd3, %rd5;
  ld.global.v4.b32 {%r7, %r8, %r9, %r10}, [%rd9];
  mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%r11, %r12, %r13, %r14}, {%r1, %r2, %r3, %r4}, {%r5, %r6}, {%r7, %r8, %r9, %r10};
  add.s64 %rd10, %rd4, %rd5;
  st.global.v4.b32 [%rd10], {%r11, %r12, %r13, %r14};
  ret;
}
)";

TEST(PtxEmu, MmaM16n8k16FollowsThePtxFragmentLayout) {
  float A[16][16], B[16][8], C[16][8];
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < 16; ++k)
      A[i][k] = (float)((i * 3 + k * 7) % 11 - 5);
  for (int k = 0; k < 16; ++k)
    for (int j = 0; j < 8; ++j)
      B[k][j] = (float)((k * 5 + j * 3) % 7 - 3);
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 8; ++j)
      C[i][j] = (float)(i - j) * 0.5f;
  // The PTX ISA's formulas ("Matrix Fragments for mma.m16n8k16 with
  // floating point type"): for A element a_i (i = 0..7, two per register,
  // the lower index in the lower half), row = groupID for i in {0,1,4,5}
  // else groupID + 8, col = threadID_in_group * 2 + (i & 1) + (i >= 4 ? 8
  // : 0); for B element b_i (i = 0..3), row = threadID_in_group * 2 +
  // (i & 1) + (i >= 2 ? 8 : 0), col = groupID; for C/D element c_i (i =
  // 0..3), row = groupID + (i >= 2 ? 8 : 0), col = threadID_in_group * 2 +
  // (i & 1).
  std::vector<uint32_t> a(32 * 4), b(32 * 2), c(32 * 4), d(32 * 4, 0);
  for (int lane = 0; lane < 32; ++lane) {
    int group = lane / 4, tig = lane % 4;
    for (int i = 0; i < 8; ++i) {
      bool lowRow = i == 0 || i == 1 || i == 4 || i == 5;
      int row = lowRow ? group : group + 8;
      int col = tig * 2 + (i & 1) + (i >= 4 ? 8 : 0);
      a[(size_t)lane * 4 + (size_t)i / 2] |= (uint32_t)bf16(A[row][col])
                                             << (16 * (i & 1));
    }
    for (int i = 0; i < 4; ++i) {
      int row = tig * 2 + (i & 1) + (i >= 2 ? 8 : 0);
      b[(size_t)lane * 2 + (size_t)i / 2] |= (uint32_t)bf16(B[row][group])
                                             << (16 * (i & 1));
    }
    for (int i = 0; i < 4; ++i)
      c[(size_t)lane * 4 + (size_t)i] =
          bits(C[group + (i >= 2 ? 8 : 0)][tig * 2 + (i & 1)]);
  }
  Emu emu;
  emu.arg(a), emu.arg(b), emu.arg(c), emu.arg(d);
  ASSERT_EQ(emu.run(kMma, "mma", 32), "");
  for (int lane = 0; lane < 32; ++lane) {
    int group = lane / 4, tig = lane % 4;
    for (int i = 0; i < 4; ++i) {
      int row = group + (i >= 2 ? 8 : 0), col = tig * 2 + (i & 1);
      float want = C[row][col];
      for (int k = 0; k < 16; ++k)
        want += A[row][k] * B[k][col];
      EXPECT_EQ(f32(d[(size_t)lane * 4 + (size_t)i]), want)
          << "lane " << lane << " d" << i;
    }
  }
}

// 32 lanes copy four 8x8 b16 matrices (element (m, r, c) = 64m + 8r + c)
// into shared memory; lane l gives the address of row l % 8 of matrix
// l / 8; each lane stores its four ldmatrix.x4 and four .trans registers.
const char *kLdmatrix = R"(
.visible .entry ldm(.param .u64 pin, .param .u64 pout)
{
  .reg .b32 %r<20>;
  .reg .b64 %rd<10>;
  .shared .align 16 .b8 tile[512];
  ld.param.u64 %rd1, [pin];
  ld.param.u64 %rd2, [pout];
  mov.u32 %r0, %tid.x;
  mul.wide.u32 %rd3, %r0, 16;
  add.s64 %rd4, %rd1, %rd3;
  ld.global.v4.b32 {%r1, %r2, %r3, %r4}, [%rd4];
  mov.u32 %r5, tile;
  shl.b32 %r6, %r0, 4;
  add.s32 %r7, %r5, %r6;
  st.shared.v4.b32 [%r7], {%r1, %r2, %r3, %r4};
  bar.sync 0;
  ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%r8, %r9, %r10, %r11}, [%r7];
  ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%r12, %r13, %r14, %r15}, [%r7];
  mul.wide.u32 %rd5, %r0, 32;
  add.s64 %rd6, %rd2, %rd5;
  st.global.v4.b32 [%rd6], {%r8, %r9, %r10, %r11};
  st.global.v4.b32 [%rd6+16], {%r12, %r13, %r14, %r15};
  ret;
}
)";

TEST(PtxEmu, LdmatrixGivesEachLaneItsRowPairOrColumnPair) {
  std::vector<uint16_t> in(256);
  for (int i = 0; i < 256; ++i)
    in[(size_t)i] = (uint16_t)i;
  std::vector<uint32_t> out(32 * 8, 0);
  Emu emu;
  emu.arg(in), emu.arg(out);
  ASSERT_EQ(emu.run(kLdmatrix, "ldm", 32), "");
  auto elem = [](int m, int r, int c) { return (uint32_t)(64 * m + 8 * r + c); };
  for (int l = 0; l < 32; ++l)
    for (int m = 0; m < 4; ++m) {
      // Without .trans lane l holds row l/4, columns 2(l%4) and 2(l%4)+1;
      // with .trans the same positions of the transposed matrix.
      uint32_t plain = elem(m, l / 4, 2 * (l % 4)) |
                       elem(m, l / 4, 2 * (l % 4) + 1) << 16;
      uint32_t trans = elem(m, 2 * (l % 4), l / 4) |
                       elem(m, 2 * (l % 4) + 1, l / 4) << 16;
      EXPECT_EQ(out[(size_t)l * 8 + (size_t)m], plain) << "lane " << l;
      EXPECT_EQ(out[(size_t)l * 8 + 4 + (size_t)m], trans) << "lane " << l;
    }
}

const char *kShfl = R"(
.visible .entry shfl(.param .u64 pout)
{
  .reg .pred %p<4>;
  .reg .b32 %r<20>;
  .reg .b64 %rd<6>;
  ld.param.u64 %rd1, [pout];
  mov.u32 %r0, %tid.x;
  shfl.sync.bfly.b32 %r1, %r0, 16, 31, -1;
  add.s32 %r2, %r0, %r1;
  shfl.sync.bfly.b32 %r1, %r2, 8, 31, -1;
  add.s32 %r2, %r2, %r1;
  shfl.sync.bfly.b32 %r1, %r2, 4, 31, -1;
  add.s32 %r2, %r2, %r1;
  shfl.sync.bfly.b32 %r1, %r2, 2, 31, -1;
  add.s32 %r2, %r2, %r1;
  shfl.sync.bfly.b32 %r1, %r2, 1, 31, -1;
  add.s32 %r2, %r2, %r1;
  shfl.sync.up.b32 %r3|%p1, %r0, 1, 0, -1;
  selp.u32 %r4, 1, 0, %p1;
  shfl.sync.down.b32 %r5, %r0, 3, 31, -1;
  shfl.sync.idx.b32 %r6, %r0, 5, 31, -1;
  shfl.sync.down.b32 %r7, %r0, 1, 6175, -1;
  mul.wide.u32 %rd2, %r0, 24;
  add.s64 %rd3, %rd1, %rd2;
  st.global.v2.b32 [%rd3], {%r2, %r3};
  st.global.v2.b32 [%rd3+8], {%r4, %r5};
  st.global.v2.b32 [%rd3+16], {%r6, %r7};
  ret;
}
)";

TEST(PtxEmu, ShflModesClampAndSegments) {
  std::vector<uint32_t> out(32 * 6, 0);
  Emu emu;
  emu.arg(out);
  ASSERT_EQ(emu.run(kShfl, "shfl", 32), "");
  for (int l = 0; l < 32; ++l) {
    const uint32_t *o = &out[(size_t)l * 6];
    EXPECT_EQ(o[0], 496u) << l;                         // butterfly sum
    EXPECT_EQ(o[1], (uint32_t)(l == 0 ? 0 : l - 1)) << l; // up 1
    EXPECT_EQ(o[2], l == 0 ? 0u : 1u) << l;             // up's predicate
    EXPECT_EQ(o[3], (uint32_t)(l + 3 <= 31 ? l + 3 : l)) << l; // down 3
    EXPECT_EQ(o[4], 5u) << l;                           // idx 5
    // c = 0x181f (CUDA's width 8: (32 - 8) << 8 | 31): down 1 stays
    // inside each segment of 8 lanes.
    EXPECT_EQ(o[5], (uint32_t)(l % 8 == 7 ? l : l + 1)) << l;
  }
}

// Lane 0 copies two 16-byte chunks in two groups, then reads what has
// landed after wait_group 1 and after wait_group 0. EARLY is a read before
// any wait (or nothing).
const char *kCpAsync = R"(
.visible .entry cpa(.param .u64 pin, .param .u64 pout)
{
  .reg .pred %p<2>;
  .reg .b32 %r<20>;
  .reg .b64 %rd<6>;
  .shared .align 16 .b8 buf[32];
  ld.param.u64 %rd1, [pin];
  ld.param.u64 %rd2, [pout];
  mov.u32 %r0, %tid.x;
  setp.ne.s32 %p1, %r0, 0;
  @%p1 bra $L_done;
  mov.u32 %r1, buf;
  cp.async.cg.shared.global [%r1], [%rd1], 16;
  cp.async.commit_group;
  cp.async.cg.shared.global [%r1+16], [%rd1+16], 16, 8;
  cp.async.commit_group;
  EARLY
  cp.async.wait_group 1;
  ld.shared.b32 %r4, [%r1];
  cp.async.wait_group 0;
  ld.shared.b32 %r6, [%r1+16];
  ld.shared.b32 %r7, [%r1+24];
  st.global.v2.b32 [%rd2], {%r4, %r6};
  st.global.b32 [%rd2+8], %r7;
$L_done:
  ret;
}
)";

std::string cpAsyncKernel(const char *early) {
  std::string s = kCpAsync;
  s.replace(s.find("EARLY"), 5, early);
  return s;
}

TEST(PtxEmu, CpAsyncLandsWhenItsGroupIsWaitedFor) {
  std::vector<uint32_t> in = {11, 12, 13, 14, 21, 22, 23, 24};
  std::vector<uint32_t> out(3, 0);
  Emu emu;
  emu.arg(in), emu.arg(out);
  ASSERT_EQ(emu.run(cpAsyncKernel(""), "cpa", 32), "");
  EXPECT_EQ(out[0], 11u); // wait_group 1 landed the older group
  EXPECT_EQ(out[1], 21u); // wait_group 0: everything
  EXPECT_EQ(out[2], 0u);  // src-size 8 of 16: the rest zero-filled
  // Reading a destination before the wait that lands it is an error, for
  // the newer group after wait_group 1 too.
  std::string err = emu.run(
      cpAsyncKernel("ld.shared.b32 %r2, [%r1];"), "cpa", 32);
  EXPECT_NE(err.find("while a cp.async into it is in flight"),
            std::string::npos)
      << err;
  std::string late = cpAsyncKernel("");
  late.replace(late.find("ld.shared.b32 %r4, [%r1];"), 25,
               "ld.shared.b32 %r4, [%r1+16];");
  err = emu.run(late, "cpa", 32);
  EXPECT_NE(err.find("in flight"), std::string::npos) << err;
}

// One warp writes a shared word, the other reads it, with or without a
// barrier between them (the BAR placeholder).
std::string racyKernel(bool barrier, bool readFirst) {
  std::string s = R"(
.visible .entry race(.param .u64 pout)
{
  .reg .pred %p<3>;
  .reg .b32 %r<10>;
  .reg .b64 %rd<4>;
  .shared .align 4 .b8 word[4];
  ld.param.u64 %rd1, [pout];
  mov.u32 %r0, %tid.x;
  mov.u32 %r1, word;
  setp.eq.s32 %p1, %r0, FIRST;
  @!%p1 bra $L_a;
  st.shared.b32 [%r1], %r0;
$L_a:
  BAR
  setp.eq.s32 %p2, %r0, SECOND;
  @!%p2 bra $L_b;
  ld.shared.b32 %r2, [%r1];
  st.global.b32 [%rd1], %r2;
$L_b:
  ret;
}
)";
  auto put = [&](const std::string &key, const std::string &v) {
    s.replace(s.find(key), key.size(), v);
  };
  put("BAR", barrier ? "bar.sync 0;" : "");
  // readFirst: warp 0 reads, warp 1 writes (write after read).
  put("FIRST", readFirst ? "32" : "0");
  put("SECOND", readFirst ? "0" : "32");
  return s;
}

TEST(PtxEmu, RacecheckFindsAMissingBarrierBetweenWarps) {
  std::vector<uint32_t> out(1, 0);
  Emu emu;
  emu.arg(out);
  std::string err = emu.run(racyKernel(false, false), "race", 64);
  EXPECT_NE(err.find("racecheck"), std::string::npos) << err;
  EXPECT_NE(err.find("read by warp 1 after warp 0 wrote it"), std::string::npos)
      << err;
  // Write after read: warp 1 overwrites what warp 0 read.
  err = emu.run(racyKernel(false, true), "race", 64);
  EXPECT_NE(err.find("written by warp 1 after warp 0 read it"),
            std::string::npos)
      << err;
  out[0] = 99;
  EXPECT_EQ(emu.run(racyKernel(true, false), "race", 64), "");
  EXPECT_EQ(out[0], 0u); // thread 0 wrote its id, thread 32 read it
  EXPECT_EQ(emu.run(racyKernel(true, true), "race", 64), "");
  EXPECT_EQ(out[0], 32u); // thread 32 wrote, thread 0 read
}

const char *kOutOfBounds = R"(
.visible .entry oob(.param .u64 pbuf, .param .u64 pn)
{
  .reg .b32 %r<4>;
  .reg .b64 %rd<6>;
  ld.param.u64 %rd1, [pbuf];
  ld.param.u64 %rd2, [pn];
  ld.global.b32 %r1, [%rd2];
  mul.wide.u32 %rd3, %r1, 4;
  add.s64 %rd4, %rd1, %rd3;
  ld.global.b32 %r2, [%rd4];
  st.global.b32 [%rd1], %r2;
  ret;
}
)";

TEST(PtxEmu, GlobalAccessesOutsideTheAllocationsFail) {
  std::vector<uint32_t> buf(8, 7), n = {7};
  Emu emu;
  emu.arg(buf), emu.arg(n);
  EXPECT_EQ(emu.run(kOutOfBounds, "oob", 1), ""); // index 7 of 8
  n[0] = 8;                                        // one past the end
  std::string err = emu.run(kOutOfBounds, "oob", 1);
  EXPECT_NE(err.find("outside every device allocation"), std::string::npos)
      << err;
  EXPECT_NE(err.find("line 14"), std::string::npos) << err; // the ld
  EXPECT_NE(err.find("thread (0,0,0)"), std::string::npos) << err;
}

// Lanes below 16 and the others reach different shfl instructions.
const char *kDiverged = R"(
.visible .entry div(.param .u64 pout)
{
  .reg .pred %p<2>;
  .reg .b32 %r<4>;
  .reg .b64 %rd<2>;
  mov.u32 %r0, %tid.x;
  setp.lt.u32 %p1, %r0, LIMIT;
  @%p1 bra $L_low;
  shfl.sync.bfly.b32 %r1, %r0, 1, 31, -1;
  bra.uni $L_end;
$L_low:
  shfl.sync.bfly.b32 %r1, %r0, 1, 31, -1;
$L_end:
  ret;
}
)";

TEST(PtxEmu, AWarpCollectiveReachedByPartOfTheWarpFails) {
  std::vector<uint32_t> out(1, 0);
  Emu emu;
  emu.arg(out);
  std::string k = kDiverged;
  std::string diverged = k, uniform = k;
  diverged.replace(diverged.find("LIMIT"), 5, "16");
  uniform.replace(uniform.find("LIMIT"), 5, "32");
  std::string err = emu.run(diverged, "div", 32);
  EXPECT_NE(err.find("diverged"), std::string::npos) << err;
  EXPECT_EQ(emu.run(uniform, "div", 32), "");
  // bar.sync is .aligned too: the CTA's threads must wait at the same one.
  auto withBarriers = [](std::string k) {
    const std::string shfl = "shfl.sync.bfly.b32 %r1, %r0, 1, 31, -1;";
    for (size_t at; (at = k.find(shfl)) != std::string::npos;)
      k.replace(at, shfl.size(), "bar.sync 0;");
    return k;
  };
  err = emu.run(withBarriers(diverged), "div", 64);
  EXPECT_NE(err.find("different barriers"), std::string::npos) << err;
  EXPECT_EQ(emu.run(withBarriers(uniform), "div", 32), "");
}

// 64-bit add and subtract through 32-bit carry chains, and the 64x64 ->
// 128-bit product libdevice builds from mad.lo.cc / madc.hi.
const char *kCarry = R"(
.visible .entry carry(.param .u64 pin, .param .u64 pout)
{
  .reg .b32 %r<30>;
  .reg .b64 %rd<12>;
  ld.param.u64 %rd1, [pin];
  ld.param.u64 %rd2, [pout];
  ld.global.v2.b64 {%rd3, %rd4}, [%rd1];
  mov.b64 {%r1, %r2}, %rd3;
  mov.b64 {%r3, %r4}, %rd4;
  add.cc.u32 %r5, %r1, %r3;
  addc.u32 %r6, %r2, %r4;
  mov.b64 %rd5, {%r5, %r6};
  sub.cc.u32 %r7, %r1, %r3;
  subc.u32 %r8, %r2, %r4;
  mov.b64 %rd6, {%r7, %r8};
  {
  .reg .u32 r0, r1, r2, r3;
  mul.lo.u32 r0, %r1, %r3;
  mul.hi.u32 r1, %r1, %r3;
  mad.lo.cc.u32 r1, %r1, %r4, r1;
  madc.hi.u32 r2, %r1, %r4, 0;
  mad.lo.cc.u32 r1, %r2, %r3, r1;
  madc.hi.cc.u32 r2, %r2, %r3, r2;
  madc.hi.u32 r3, %r2, %r4, 0;
  mad.lo.cc.u32 r2, %r2, %r4, r2;
  addc.u32 r3, r3, 0;
  mov.b64 %rd7, {r0, r1};
  mov.b64 %rd8, {r2, r3};
  }
  st.global.v2.b64 [%rd2], {%rd5, %rd6};
  st.global.v2.b64 [%rd2+16], {%rd7, %rd8};
  ret;
}
)";

TEST(PtxEmu, CarryChainsMatchWideArithmetic) {
  const uint64_t pairs[][2] = {{0xffffffffffffffffull, 1},
                               {0x00000000ffffffffull, 0x0000000100000000ull},
                               {0x123456789abcdef0ull, 0xfedcba9876543210ull},
                               {5, 0xffffffff00000001ull}};
  for (const auto &pr : pairs) {
    std::vector<uint64_t> in = {pr[0], pr[1]}, out(4, 0);
    Emu emu;
    emu.arg(in), emu.arg(out);
    ASSERT_EQ(emu.run(kCarry, "carry", 1), "");
    unsigned __int128 prod = (unsigned __int128)pr[0] * pr[1];
    EXPECT_EQ(out[0], pr[0] + pr[1]);
    EXPECT_EQ(out[1], pr[0] - pr[1]); // subc subtracts the borrow
    EXPECT_EQ(out[2], (uint64_t)prod);
    EXPECT_EQ(out[3], (uint64_t)(prod >> 64));
  }
}

const char *kConvert = R"(
.visible .entry cvt(.param .u64 pin, .param .u64 pout)
{
  .reg .b16 %rs<6>;
  .reg .b32 %r<30>;
  .reg .b64 %rd<12>;
  ld.param.u64 %rd1, [pin];
  ld.param.u64 %rd2, [pout];
  ld.global.v4.b32 {%r1, %r2, %r3, %r4}, [%rd1];
  ld.global.v2.b64 {%rd3, %rd4}, [%rd1+16];
  cvt.rn.bf16x2.f32 %r5, %r1, %r2;
  cvt.rn.f16x2.f32 %r6, %r1, %r2;
  cvt.rni.s32.f64 %r7, %rd3;
  cvt.rni.s32.f64 %r8, %rd4;
  cvt.rzi.s32.f32 %r9, %r3;
  cvt.rzi.s32.f32 %r10, %r4;
  cvt.rn.f16.f32 %rs1, %r3;
  cvt.u32.u16 %r11, %rs1;
  fma.rm.f32 %r12, %r1, %r1, 0f30800000;
  fma.rp.f32 %r13, %r1, %r1, 0f30800000;
  fma.rn.f32 %r14, %r1, %r1, 0f30800000;
  cvt.sat.f32.f32 %r15, %r4;
  max.NaN.f32 %r16, %r1, %r4;
  max.f32 %r17, %r1, %r4;
  st.global.v4.b32 [%rd2], {%r5, %r6, %r7, %r8};
  st.global.v4.b32 [%rd2+16], {%r9, %r10, %r11, %r12};
  st.global.v4.b32 [%rd2+32], {%r13, %r14, %r15, %r16};
  st.global.b32 [%rd2+48], %r17;
  ret;
}
)";

TEST(PtxEmu, ConversionsPackRoundAndSaturateAsPtxSays) {
  std::vector<uint32_t> in(8, 0);
  in[0] = bits(1.0f);
  in[1] = bits(2.0f);
  in[2] = bits(3e9f);
  in[3] = bits(std::nanf(""));
  double h[2] = {2.5, 3.5};
  std::memcpy(&in[4], h, 16);
  std::vector<uint32_t> out(13, 0);
  Emu emu;
  emu.arg(in), emu.arg(out);
  ASSERT_EQ(emu.run(kConvert, "cvt", 1), "");
  EXPECT_EQ(out[0], 0x3f804000u); // {bf16(a) high, bf16(b) low}
  EXPECT_EQ(out[1], 0x3c004000u); // {f16(1.0) high, f16(2.0) low}
  EXPECT_EQ(out[2], 2u);          // rni: ties to even
  EXPECT_EQ(out[3], 4u);
  EXPECT_EQ(out[4], 2147483647u); // rzi saturates
  EXPECT_EQ(out[5], 0u);          // NaN -> 0
  EXPECT_EQ(out[6], 0x7c00u);     // 3e9 -> f16 infinity
  // 1 * 1 + 2^-30: rounds down to 1, up to the next float, nearest to 1.
  EXPECT_EQ(f32(out[7]), 1.0f);
  EXPECT_EQ(f32(out[8]), std::nextafter(1.0f, 2.0f));
  EXPECT_EQ(f32(out[9]), 1.0f);
  EXPECT_EQ(f32(out[10]), 0.0f);  // cvt.sat of NaN
  EXPECT_TRUE(std::isnan(f32(out[11]))); // max.NaN propagates
  EXPECT_EQ(f32(out[12]), 1.0f);  // max takes the number
}

// bf16 fma rounds once: 1.75 * 0.578125 is the midpoint between two bf16
// values, and - 2^-30 puts it just below (rounding through f32 would lose
// the 2^-30 and round the tie up).
const char *kBf16Fma = R"(
.visible .entry bfma(.param .u64 pout)
{
  .reg .b16 %rs<5>;
  .reg .b64 %rd<2>;
  ld.param.u64 %rd1, [pout];
  mov.b16 %rs1, 0x3fe0;
  mov.b16 %rs2, 0x3f14;
  mov.b16 %rs3, 0xb080;
  fma.rn.bf16 %rs4, %rs1, %rs2, %rs3;
  st.global.b16 [%rd1], %rs4;
  ret;
}
)";

TEST(PtxEmu, Bf16FmaRoundsOnce) {
  std::vector<uint16_t> out(1, 0);
  Emu emu;
  emu.arg(out);
  ASSERT_EQ(emu.run(kBf16Fma, "bfma", 1), "");
  EXPECT_EQ(out[0], 0x3f81u);
}

// A 16-byte store into a .shared array declared with less alignment works
// on a GPU only by luck of the layout; the interpreter places such arrays
// at odd multiples of their alignment.
std::string sharedVector(int align) {
  return R"(
.visible .entry vec(.param .u64 pout)
{
  .reg .b32 %r<6>;
  .shared .align 1 .b8 pad[3];
  .shared .align )" + std::to_string(align) + R"( .b8 buf[16];
  mov.u32 %r0, 7;
  mov.u32 %r1, buf;
  st.shared.v4.b32 [%r1], {%r0, %r0, %r0, %r0};
  ret;
}
)";
}

TEST(PtxEmu, SharedArraysAreOnlyAsAlignedAsDeclared) {
  std::vector<uint32_t> out(1, 0);
  Emu emu;
  emu.arg(out);
  std::string err = emu.run(sharedVector(4), "vec", 1);
  EXPECT_NE(err.find("misaligned 16-byte write"), std::string::npos) << err;
  EXPECT_EQ(emu.run(sharedVector(16), "vec", 1), "");
}

TEST(PtxEmu, UnsupportedInstructionsFailAtLoadNamingTheLine) {
  std::string ptx = std::string(kHeader) +
                    ".visible .entry k()\n{\n  .reg .b32 %r<2>;\n"
                    "  vote.sync.all.pred %r1, %r0, -1;\n  ret;\n}\n";
  char log[512] = {0};
  EXPECT_EQ(ptxemu_load(ptx.c_str(), log, sizeof log), nullptr);
  EXPECT_STREQ(log, "ptxemu: line 7: unsupported instruction 'vote.sync.all.pred'");
}

} // namespace
