// LZF decoder: literal runs, short/long/overlapping back-references, corrupt input, and the HDF5
// filter 32000 path end to end (file-formats.md §4.1).
#include <gtest/gtest.h>

#include <cstring>

#include "io/anndata.h"
#include "io/h5_util.h"
#include "io/lzf.h"
#include "tests/io/h5_builder.h"
#include "tests/io/io_test_util.h"
#include "tests/io/lzf_encoder.h"

namespace cuvi::test {
namespace {

using io::LzfStatus;

std::string decode(const std::vector<uint8_t>& in, size_t cap, LzfStatus* st) {
  std::vector<uint8_t> out(cap + 1, 0xEE);
  size_t len = 0;
  *st = io::lzf_decompress(in.data(), in.size(), out.data(), cap, &len);
  EXPECT_EQ(out[cap], 0xEE) << "wrote past the capacity";
  return *st == LzfStatus::Ok ? std::string(out.begin(), out.begin() + len) : "";
}

void backref(std::vector<uint8_t>& s, size_t len, size_t back) { lzf_backref(s, len, back); }
void literal(std::vector<uint8_t>& s, const std::string& text) { lzf_literal(s, text); }

TEST(IoLzf, LiteralRun) {
  std::vector<uint8_t> in;
  literal(in, "hello");
  LzfStatus st;
  EXPECT_EQ(decode(in, 16, &st), "hello");
  EXPECT_EQ(st, LzfStatus::Ok);
}

TEST(IoLzf, ShortAndLongBackReferences) {
  std::vector<uint8_t> in;
  literal(in, "abcd");
  backref(in, 4, 4);   // "abcd"
  backref(in, 3, 2);   // "cdc"
  literal(in, "Z");
  backref(in, 20, 5);  // long form (length byte)
  LzfStatus st;
  const std::string expect_head = "abcdabcdcdcZ";
  std::string expect = expect_head;
  for (int i = 0; i < 20; ++i) expect += expect[expect.size() - 5];
  EXPECT_EQ(decode(in, 64, &st), expect);
  EXPECT_EQ(st, LzfStatus::Ok);
}

TEST(IoLzf, OverlappingRunRepeatsOneByte) {
  std::vector<uint8_t> in;
  literal(in, "x");
  backref(in, 264, 1);  // longest single reference
  LzfStatus st;
  EXPECT_EQ(decode(in, 300, &st), std::string(265, 'x'));
}

TEST(IoLzf, CorruptInputIsRejectedWithoutOverrun) {
  LzfStatus st;
  std::vector<uint8_t> truncated_literal = {4, 'a', 'b'};
  decode(truncated_literal, 16, &st);
  EXPECT_EQ(st, LzfStatus::Corrupt);

  std::vector<uint8_t> before_start;
  literal(before_start, "ab");
  backref(before_start, 3, 5);
  decode(before_start, 16, &st);
  EXPECT_EQ(st, LzfStatus::Corrupt);

  std::vector<uint8_t> missing_offset = {uint8_t(1 << 5)};
  decode(missing_offset, 16, &st);
  EXPECT_EQ(st, LzfStatus::Corrupt);

  std::vector<uint8_t> big;
  literal(big, "a");
  backref(big, 100, 1);
  decode(big, 50, &st);
  EXPECT_EQ(st, LzfStatus::OutputFull);
}

// ---- through HDF5 -----------------------------------------------------------------------------

TEST(IoLzf, Hdf5Filter32000DecodesChunks) {
  TempDir dir;
  const std::string file = dir.file("lzf.h5");
  std::vector<double> values(5000, 0.0);
  for (size_t i = 0; i < values.size(); i += 7) values[i] = double(i % 13);
  {
    io::h5_init();
    ASSERT_TRUE(register_test_lzf_codec());
    H5Builder b(file);
    b.array("/v", values, {}, 1000, 32000, {4, 4, 8000});
    b.close();
    io::register_lzf_filter();  // back to the library's decoder
  }
  const io::Node root = io::Node::root(io::H5File::open_read(file));
  const io::Node v = root.open("v");
  const auto back = io::read_doubles(v, 1 << 30);
  EXPECT_EQ(back, values);
  // A sub-range crossing chunk boundaries.
  std::vector<double> part(1500);
  io::read_range(v, 900, 1500, part.data());
  EXPECT_EQ(part, std::vector<double>(values.begin() + 900, values.begin() + 2400));
}

size_t garbage_codec(unsigned flags, size_t, const unsigned[], size_t nbytes, size_t* buf_size, void** buf) {
  if (flags & H5Z_FLAG_REVERSE) return 0;
  // A back-reference before the start of the output: what a damaged chunk looks like.
  static const uint8_t bad[] = {0x20, 0x05, 0x00, 0x01};
  void* out = H5allocate_memory(sizeof bad, false);
  std::memcpy(out, bad, sizeof bad);
  H5free_memory(*buf);
  *buf = out;
  *buf_size = sizeof bad;
  (void)nbytes;
  return sizeof bad;
}

TEST(IoLzf, CompressedSparseXAndDamagedChunks) {
  TempDir dir;
  io::h5_init();
  ToyAnnData t = toy_anndata();
  t.x->data_filter = 32000;
  t.x->filter_cd = {4, 4, 4096};
  ASSERT_TRUE(register_test_lzf_codec());
  write_toy_h5ad(dir.file("lzf.h5ad"), t);
  static const H5Z_class2_t bad = {H5Z_CLASS_T_VERS, 32000, 1, 1, "damaging codec", nullptr, nullptr, garbage_codec};
  ASSERT_GE(H5Zregister(&bad), 0);
  write_toy_h5ad(dir.file("damaged.h5ad"), t);
  io::register_lzf_filter();
  const io::CsrMatrix x = io::AnnDataFile::open(dir.file("lzf.h5ad")).read_matrix("X");
  EXPECT_EQ(x.data, (std::vector<float>{1, 2, 3, 1, 5, 1}));
  EXPECT_IO_ERROR(io::AnnDataFile::open(dir.file("damaged.h5ad")).read_matrix("X"),
                  dir.file("damaged.h5ad") + ": /X/data: cannot read (corrupt or truncated file?)");
}

}  // namespace
}  // namespace cuvi::test
