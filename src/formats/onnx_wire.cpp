// strip_onnx_payloads: a recursive walk over the message types that can hold tensors, copying
// every other field as it is and re-encoding the lengths of the messages it shortened.
#include "formats/onnx_wire.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "core/error.h"

namespace edgerun {

namespace {

using google::protobuf::io::CodedInputStream;

// The message types the walk descends into (onnx.proto); everything else is copied as bytes.
enum class Msg : uint8_t { Model, Function, Graph, Node, Attribute, Sparse, Tensor, StringEntry };

// Which field of `m` holds a message of which type (Msg::StringEntry for "no descent").
bool child_of(Msg m, uint32_t field, Msg* child) {
  struct Edge {
    Msg parent;
    uint32_t field;
    Msg child;
  };
  static constexpr Edge kEdges[] = {
      {Msg::Model, 7, Msg::Graph},          {Msg::Model, 25, Msg::Function},
      {Msg::Function, 7, Msg::Node},        {Msg::Graph, 1, Msg::Node},
      {Msg::Graph, 5, Msg::Tensor},         {Msg::Graph, 15, Msg::Sparse},
      {Msg::Node, 5, Msg::Attribute},       {Msg::Attribute, 5, Msg::Tensor},
      {Msg::Attribute, 6, Msg::Graph},      {Msg::Attribute, 10, Msg::Tensor},
      {Msg::Attribute, 11, Msg::Graph},     {Msg::Attribute, 22, Msg::Sparse},
      {Msg::Attribute, 23, Msg::Sparse},    {Msg::Sparse, 1, Msg::Tensor},
      {Msg::Sparse, 2, Msg::Tensor},        {Msg::Tensor, 13, Msg::StringEntry},
  };
  for (const Edge& e : kEdges)
    if (e.parent == m && e.field == field) {
      *child = e.child;
      return true;
    }
  return false;
}

bool is_payload_field(uint32_t f) { return f == 4 || f == 5 || f == 7 || f == 9 || f == 10 || f == 11; }

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_len_field(std::string& out, uint32_t field, const std::string& bytes) {
  put_varint(out, (uint64_t{field} << 3) | 2);
  put_varint(out, bytes.size());
  out += bytes;
}

constexpr int kMaxDepth = 32;

class Walker {
 public:
  Walker(const std::string& path, CodedInputStream& in, uint64_t size, StrippedOnnx& out)
      : path_(path), in_(in), size_(size), out_(out) {}

  // Fields of a message of type m until the current limit (or the end of the file).
  void message(Msg m, std::string& out, int depth) {
    if (depth > kMaxDepth) fail("messages nested deeper than ", kMaxDepth, " levels");
    int payloads = 0;
    OnnxPayload payload;
    for (;;) {
      const uint64_t at = pos();
      const uint32_t tag = in_.ReadTag();
      if (tag == 0) {
        // 0 at a limit or at the end of the file ends the message; anywhere else it is a bad tag.
        if (in_.BytesUntilLimit() > 0 || (in_.BytesUntilLimit() < 0 && pos() < size_))
          fail_at(at, "invalid field tag");
        break;
      }
      const uint32_t field = tag >> 3, wire = tag & 7;
      if (field == 0) fail_at(at, "field number 0");
      switch (wire) {
        case 0: {  // varint
          uint64_t v = 0;
          if (!in_.ReadVarint64(&v)) fail_at(at, "truncated varint");
          put_varint(out, tag);
          put_varint(out, v);
          break;
        }
        case 1:
        case 5: {  // fixed64 / fixed32
          const int n = wire == 1 ? 8 : 4;
          std::string raw;
          if (!in_.ReadString(&raw, n)) fail_at(at, "truncated fixed-size field");
          put_varint(out, tag);
          out += raw;
          break;
        }
        case 2: {
          uint64_t len = 0;
          if (!in_.ReadVarint64(&len)) fail_at(at, "truncated length");
          const uint64_t start = pos();
          if (len > size_ - start || (in_.BytesUntilLimit() >= 0 && len > static_cast<uint64_t>(in_.BytesUntilLimit())))
            fail_at(at, "field ", field, " of ", len, " bytes runs past the end of ",
                    in_.BytesUntilLimit() >= 0 ? "its message" : "the file");
          Msg child;
          if (m == Msg::Tensor && is_payload_field(field)) {
            payload = {static_cast<PayloadField>(field), start, len};
            ++payloads;
            if (!in_.Skip(static_cast<int>(len))) fail_at(at, "truncated tensor data");
          } else if (child_of(m, field, &child)) {
            std::string sub;
            sub_key_.clear();
            const auto limit = in_.PushLimit(static_cast<int>(len));
            message(child, sub, depth + 1);
            if (in_.BytesUntilLimit() != 0) fail_at(at, "message of field ", field, " ends early");
            in_.PopLimit(limit);
            if (child == Msg::StringEntry && sub_key_ == kPayloadKey)
              fail_at(at, "external_data key \"", kPayloadKey, "\" is reserved");
            put_len_field(out, field, sub);
          } else {
            std::string raw;
            if (!in_.ReadString(&raw, static_cast<int>(len))) fail_at(at, "truncated field ", field);
            if (m == Msg::StringEntry && field == 1) sub_key_ = raw;
            put_len_field(out, field, raw);
          }
          break;
        }
        default:
          fail_at(at, "wire type ", wire, " (groups are not valid in ONNX)");
      }
    }
    if (m == Msg::Tensor && payloads > 0) {
      if (payloads > 1) fail("a tensor holds its data in ", payloads, " fields or chunks; one is allowed");
      std::string entry;
      put_len_field(entry, 1, kPayloadKey);
      put_len_field(entry, 2, std::to_string(out_.payloads.size()));
      put_len_field(out, 13, entry);
      out_.payloads.push_back(payload);
    }
  }

 private:
  uint64_t pos() const { return static_cast<uint64_t>(in_.CurrentPosition()); }
  template <typename... A>
  [[noreturn]] void fail_at(uint64_t at, const A&... a) {
    ER_THROW(FormatError, path_, ": malformed ONNX protobuf at byte ", at, ": ", a...);
  }
  template <typename... A>
  [[noreturn]] void fail(const A&... a) {
    ER_THROW(FormatError, path_, ": malformed ONNX protobuf near byte ", pos(), ": ", a...);
  }

  const std::string& path_;
  CodedInputStream& in_;
  uint64_t size_;
  StrippedOnnx& out_;
  std::string sub_key_;  // key of the StringStringEntryProto being walked
};

}  // namespace

StrippedOnnx strip_onnx_payloads(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) ER_THROW(IoError, path, ": cannot open: ", std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st{};
  if (::fstat(fd, &st) != 0) ER_THROW(IoError, path, ": cannot stat: ", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) ER_THROW(FormatError, path, ": not a regular file");
  StrippedOnnx r;
  r.file_size = static_cast<uint64_t>(st.st_size);
  if (r.file_size > kMaxOnnxFileBytes)
    ER_THROW(FormatError, path, ": ", r.file_size, " bytes is over protobuf's 2 GiB limit; save the model ",
             "with its weights as external data (onnx.save_model(..., save_as_external_data=True))");
  google::protobuf::io::FileInputStream file(fd, 1 << 16);
  CodedInputStream in(&file);
  in.SetTotalBytesLimit(std::numeric_limits<int>::max());
  in.SetRecursionLimit(kMaxDepth + 8);
  Walker w(path, in, r.file_size, r);
  w.message(Msg::Model, r.proto, 0);
  if (file.GetErrno() != 0) ER_THROW(IoError, path, ": read failed: ", std::strerror(file.GetErrno()));
  if (static_cast<uint64_t>(in.CurrentPosition()) != r.file_size)
    ER_THROW(FormatError, path, ": malformed ONNX protobuf: parsing stopped at byte ", in.CurrentPosition(),
             " of ", r.file_size);
  return r;
}

}  // namespace edgerun
