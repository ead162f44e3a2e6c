// The ARAP assembler (arap_asm.h). One pass over the lines: directives declare data-memory
// tensors, host-bound parameters and constants; instruction lines become 44-bit words through
// the opcode table of arap_isa.cpp, whose range checks are reported with the line they came from.
#include "sim/arap_asm.h"

#include <cctype>
#include <sstream>

#include "core/error.h"
#include "io/file.h"
#include "sim/arap_q16.h"

namespace edgerun::sim::arap {

const char* word_type_name(WordType t) {
  switch (t) {
    case WordType::Free: return "free";
    case WordType::I16: return "i16";
    case WordType::I32: return "i32";
    case WordType::I64: return "i64";
    case WordType::F32: return "f32";
  }
  return "?";
}

const TensorDecl* Program::find_tensor(const std::string& name) const {
  for (const TensorDecl& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

const ParamDecl* Program::find_param(const std::string& name) const {
  for (const ParamDecl& p : params)
    if (p.name == name) return &p;
  return nullptr;
}

std::string Program::where(size_t i) const {
  return path + ":" + std::to_string(i < lines.size() ? lines[i] : 0);
}

namespace {

using arapq::i128;
constexpr int64_t kExprLimit = int64_t{1} << 40;  // no program needs more; keeps sums exact

struct Assembler {
  std::string path;
  int line = 0;
  Program prog;
  std::map<std::string, int64_t> equs;
  const std::map<std::string, int64_t>* bind = nullptr;

  [[noreturn]] void fail(const std::string& msg) const {
    throw FormatError(path + ":" + std::to_string(line) + ": " + msg);
  }

  static bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
  static bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

  bool name_taken(const std::string& n) const {
    return prog.find_tensor(n) || prog.find_param(n) || equs.count(n);
  }
  void check_new_name(const std::string& n) {
    if (n.empty() || !ident_start(n[0])) fail("\"" + n + "\" is not a name (letters, digits, _; not starting with a digit)");
    for (char c : n)
      if (!ident_char(c)) fail("\"" + n + "\" is not a name (letters, digits, _; not starting with a digit)");
    if (name_taken(n)) fail("\"" + n + "\" is declared twice");
  }

  // ---- expressions: integers, names, NAME[row, col], + - * and parentheses ----
  struct Expr {
    const Assembler& a;
    const std::string& s;
    size_t p = 0;
    void ws() {
      while (p < s.size() && std::isspace(static_cast<unsigned char>(s[p]))) ++p;
    }
    int64_t checked(i128 v) {
      if (v > kExprLimit || v < -kExprLimit) a.fail("value out of range in \"" + s + "\"");
      return static_cast<int64_t>(v);
    }
    int64_t primary() {
      ws();
      if (p >= s.size()) a.fail("expression \"" + s + "\" ends too early");
      const char c = s[p];
      if (c == '(') {
        ++p;
        const int64_t v = sum();
        ws();
        if (p >= s.size() || s[p] != ')') a.fail("missing ')' in \"" + s + "\"");
        ++p;
        return v;
      }
      if (c == '-') {
        ++p;
        return -primary();
      }
      if (c == '+') {
        ++p;
        return primary();
      }
      if (std::isdigit(static_cast<unsigned char>(c))) {
        int base = 10;
        if (c == '0' && p + 1 < s.size() && (s[p + 1] == 'x' || s[p + 1] == 'X')) {
          base = 16;
          p += 2;
        }
        i128 v = 0;
        size_t digits = 0;
        while (p < s.size() && std::isxdigit(static_cast<unsigned char>(s[p]))) {
          const char d = static_cast<char>(std::tolower(static_cast<unsigned char>(s[p])));
          const int dv = std::isdigit(static_cast<unsigned char>(d)) ? d - '0' : d - 'a' + 10;
          if (dv >= base) a.fail("bad digit '" + std::string(1, s[p]) + "' in \"" + s + "\"");
          v = v * base + dv;
          if (v > kExprLimit) a.fail("number too large in \"" + s + "\"");
          ++p, ++digits;
        }
        if (digits == 0) a.fail("number without digits in \"" + s + "\"");
        if (p < s.size() && ident_char(s[p])) a.fail("bad number in \"" + s + "\"");
        return static_cast<int64_t>(v);
      }
      if (ident_start(c)) {
        const size_t b = p;
        while (p < s.size() && ident_char(s[p])) ++p;
        const std::string name = s.substr(b, p - b);
        ws();
        if (const TensorDecl* t = a.prog.find_tensor(name)) {
          if (p < s.size() && s[p] == '[') {  // element address
            ++p;
            const int64_t r = sum();
            ws();
            if (p >= s.size() || s[p] != ',') a.fail("expected \"" + name + "[row, col]\" in \"" + s + "\"");
            ++p;
            const int64_t col = sum();
            ws();
            if (p >= s.size() || s[p] != ']') a.fail("missing ']' in \"" + s + "\"");
            ++p;
            if (r < 0 || r >= t->rows || col < 0 || col >= t->cols)
              a.fail("element [" + std::to_string(r) + ", " + std::to_string(col) + "] is outside tensor " +
                     name + " (" + std::to_string(t->rows) + " x " + std::to_string(t->cols) + ")");
            return t->base + r * t->cols + col;
          }
          return t->base;
        }
        if (const ParamDecl* q = a.prog.find_param(name)) return q->value;
        auto it = a.equs.find(name);
        if (it != a.equs.end()) return it->second;
        a.fail("unknown name \"" + name + "\" (declare it with .tensor, .param or .equ before use)");
      }
      a.fail("unexpected '" + std::string(1, c) + "' in \"" + s + "\"");
    }
    int64_t product() {
      int64_t v = primary();
      while (true) {
        ws();
        if (p < s.size() && s[p] == '*') {
          ++p;
          v = checked(static_cast<i128>(v) * primary());
        } else {
          return v;
        }
      }
    }
    int64_t sum() {
      int64_t v = product();
      while (true) {
        ws();
        if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
          const bool plus = s[p++] == '+';
          const int64_t r = product();
          v = checked(plus ? static_cast<i128>(v) + r : static_cast<i128>(v) - r);
        } else {
          return v;
        }
      }
    }
  };

  int64_t eval(const std::string& s) const {
    Expr e{*this, s};
    const int64_t v = e.sum();
    e.ws();
    if (e.p != s.size()) fail("unexpected \"" + s.substr(e.p) + "\" in expression \"" + s + "\"");
    return v;
  }

  // Splits on commas outside brackets and parentheses; trims each piece.
  std::vector<std::string> split_operands(const std::string& s) const {
    std::vector<std::string> out;
    int depth = 0;
    std::string cur;
    auto push = [&]() {
      size_t b = cur.find_first_not_of(" \t"), e = cur.find_last_not_of(" \t");
      std::string t = b == std::string::npos ? "" : cur.substr(b, e - b + 1);
      if (t.empty()) fail("empty operand in \"" + s + "\"");
      out.push_back(t);
      cur.clear();
    };
    for (char c : s) {
      if (c == '[' || c == '(') ++depth;
      if (c == ']' || c == ')') --depth;
      if (c == ',' && depth == 0) {
        push();
      } else {
        cur += c;
      }
    }
    if (cur.find_first_not_of(" \t") != std::string::npos) push();
    else if (!out.empty()) fail("trailing ',' in \"" + s + "\"");
    return out;
  }

  static std::vector<std::string> words_of(const std::string& s) {
    std::istringstream is(s);
    std::vector<std::string> w;
    std::string t;
    while (is >> t) w.push_back(t);
    return w;
  }

  void directive(const std::string& d, const std::string& rest) {
    const std::vector<std::string> w = words_of(rest);
    if (d == ".tensor") {
      if (w.size() != 4) fail(".tensor takes NAME TYPE ROWS COLS (e.g. \".tensor x i16 17 32\")");
      check_new_name(w[0]);
      TensorDecl t;
      t.name = w[0];
      if (w[1] == "i16") t.type = WordType::I16;
      else if (w[1] == "i32") t.type = WordType::I32;
      else if (w[1] == "i64") t.type = WordType::I64;
      else if (w[1] == "f32") t.type = WordType::F32;
      else fail("tensor type \"" + w[1] + "\" is not i16, i32, i64 or f32");
      t.rows = eval(w[2]);
      t.cols = eval(w[3]);
      if (t.rows < 1 || t.cols < 1 || t.rows > kDmWords || t.cols > kDmWords)
        fail("tensor " + t.name + " has shape " + std::to_string(t.rows) + " x " + std::to_string(t.cols) +
             "; each side must be in [1, " + std::to_string(kDmWords) + "]");
      t.base = prog.dm_words_used;
      if (t.words() > kDmWords - t.base)
        fail("tensor " + t.name + " needs " + std::to_string(t.words()) + " words but only " +
             std::to_string(kDmWords - t.base) + " of the " + std::to_string(kDmWords) +
             "-word data memory are left");
      t.line = line;
      prog.dm_words_used += t.words();
      prog.tensors.push_back(t);
    } else if (d == ".param") {
      if (w.size() != 2) fail(".param takes NAME DEFAULT (e.g. \".param SH_Q 20\")");
      check_new_name(w[0]);
      ParamDecl q;
      q.name = w[0];
      q.value = eval(w[1]);
      q.line = line;
      if (bind) {
        auto it = bind->find(q.name);
        if (it != bind->end()) {
          q.value = it->second;
          q.bound = true;
        }
      }
      prog.params.push_back(q);
    } else if (d == ".equ") {
      if (w.empty()) fail(".equ takes NAME EXPRESSION");
      check_new_name(w[0]);
      const size_t at = rest.find(w[0]) + w[0].size();
      const std::string expr = rest.substr(at);
      if (expr.find_first_not_of(" \t") == std::string::npos) fail(".equ " + w[0] + " has no value");
      equs[w[0]] = eval(expr);
    } else {
      fail("unknown directive \"" + d + "\" (.tensor, .param, .equ)");
    }
  }

  uint8_t parse_mask(const std::string& tok) {
    const std::string body = tok.substr(1);
    if (body == "all") return 0xF;
    if (body.empty()) fail("\"@\" needs PE groups, e.g. @0 or @0,1,2,3 or @all");
    uint8_t m = 0;
    bool want_digit = true;
    for (char c : body) {
      if (want_digit && c >= '0' && c < '0' + kNumPegs) {
        const uint8_t bit = static_cast<uint8_t>(1u << (c - '0'));
        if (m & bit) fail("PE group " + std::string(1, c) + " named twice in \"" + tok + "\"");
        m |= bit;
        want_digit = false;
      } else if (!want_digit && c == ',') {
        want_digit = true;
      } else {
        fail("bad PE-group list \"" + tok + "\": groups are 0..3, e.g. @0 or @1,3 or @all");
      }
    }
    if (want_digit) fail("bad PE-group list \"" + tok + "\"");
    return m;
  }

  void instruction(const std::string& text) {
    size_t sp = text.find_first_of(" \t");
    const std::string mask_tok = text.substr(0, sp);
    const uint8_t mask = parse_mask(mask_tok);
    std::string rest = sp == std::string::npos ? "" : text.substr(sp);
    const size_t b = rest.find_first_not_of(" \t");
    if (b == std::string::npos) fail("\"" + mask_tok + "\" is not followed by an instruction");
    rest = rest.substr(b);
    sp = rest.find_first_of(" \t");
    std::string mn = rest.substr(0, sp);
    for (char& c : mn) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const OpcodeSpec* spec = find_mnemonic(mn);
    if (!spec) {
      std::string all;
      for (const OpcodeSpec& s : isa()) all += std::string(all.empty() ? "" : ", ") + s.mnemonic;
      fail("unknown instruction \"" + mn + "\" (one of " + all + ")");
    }
    const std::string ops = sp == std::string::npos ? "" : rest.substr(sp);
    std::vector<std::string> operands =
        ops.find_first_not_of(" \t") == std::string::npos ? std::vector<std::string>{} : split_operands(ops);

    Instr in;
    in.op = spec->op;
    in.mask = mask;
    size_t next = 0;
    std::string expected;
    for (size_t i = 0; i < spec->fields.size(); ++i) {
      const FieldSpec& f = spec->fields[i];
      const std::string_view syn = f.syntax;
      if (syn == "?") continue;  // flags below
      expected += std::string(expected.empty() ? "" : ", ") + f.name;
      if (next >= operands.size()) {
        if (f.optional) continue;  // left out: 0
        fail(std::string(spec->mnemonic) + " needs operand `" + f.name + "` (" + f.meaning + ")");
      }
      const std::string& o = operands[next++];
      if (!syn.empty()) {
        int64_t v = 0;
        bool found = false;
        size_t p = 0;
        for (int64_t k = 0;; ++k) {
          const size_t q = syn.find('|', p);
          if (syn.substr(p, q == std::string_view::npos ? std::string_view::npos : q - p) == o) {
            v = k;
            found = true;
            break;
          }
          if (q == std::string_view::npos) break;
          p = q + 1;
        }
        if (!found) fail(std::string(spec->mnemonic) + ": `" + f.name + "` is \"" + o + "\"; expected one of " +
                         std::string(syn));
        in.f[i] = v;
      } else {
        in.f[i] = eval(o);
      }
    }
    for (; next < operands.size(); ++next) {  // the rest must be flag names
      const std::string& o = operands[next];
      bool found = false;
      std::string flags;
      for (size_t i = 0; i < spec->fields.size(); ++i) {
        if (std::string_view(spec->fields[i].syntax) != "?") continue;
        flags += std::string(flags.empty() ? "" : ", ") + spec->fields[i].name;
        if (o == spec->fields[i].name) {
          if (in.f[i]) fail(std::string(spec->mnemonic) + ": flag " + o + " given twice");
          in.f[i] = 1;
          found = true;
        }
      }
      if (!found) {
        std::string msg = std::string(spec->mnemonic) + ": unexpected operand \"" + o + "\"";
        msg += expected.empty() ? " (it takes no operands" : " (operands: " + expected;
        msg += flags.empty() ? ")" : "; flags: " + flags + ")";
        fail(msg);
      }
    }
    uint64_t w = 0;
    try {
      w = encode(in);
    } catch (const InputError& e) {
      fail(e.what());
    }
    prog.code.push_back(in);
    prog.words.push_back(w);
    prog.lines.push_back(line);
  }

  void run(const std::string& text) {
    if (text.size() > kMaxProgramBytes)
      throw FormatError(path + ": program is " + std::to_string(text.size()) + " bytes; the limit is " +
                        std::to_string(kMaxProgramBytes));
    size_t pos = 0;
    while (pos <= text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      std::string l = text.substr(pos, nl - pos);
      pos = nl + 1;
      ++line;
      if (l.size() > kMaxLineChars) fail("line longer than " + std::to_string(kMaxLineChars) + " characters");
      if (!l.empty() && l.back() == '\r') l.pop_back();
      for (char c : l)
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || static_cast<unsigned char>(c) >= 0x7f)
          fail("non-ASCII or control character in the line (byte 0x" +
               [&] {
                 std::ostringstream o;
                 o << std::hex << (static_cast<unsigned>(static_cast<unsigned char>(c)));
                 return o.str();
               }() + ")");
      const size_t cm = l.find_first_of(";#");
      if (cm != std::string::npos) l = l.substr(0, cm);
      const size_t b = l.find_first_not_of(" \t");
      if (b == std::string::npos) continue;
      l = l.substr(b, l.find_last_not_of(" \t") - b + 1);
      if (l[0] == '.') {
        const size_t sp = l.find_first_of(" \t");
        directive(l.substr(0, sp), sp == std::string::npos ? "" : l.substr(sp));
      } else if (l[0] == '@') {
        instruction(l);
      } else {
        fail("expected a directive (.tensor, .param, .equ) or an instruction \"@GROUPS MNEMONIC operands\"; got \"" +
             l.substr(0, 40) + "\"");
      }
      if (nl == text.size()) break;
    }
    if (prog.code.empty()) throw FormatError(path + ": the program has no instructions");
  }
};

}  // namespace

Program assemble(const std::string& text, const std::string& path, const std::map<std::string, int64_t>& bind,
                 bool strict) {
  Assembler a;
  a.path = path;
  a.bind = &bind;
  a.prog.path = path;
  a.run(text);
  if (strict)
    for (const auto& [name, v] : bind)
      if (!a.prog.find_param(name))
        throw FormatError(path + ": the program declares no .param " + name + " (the host binds it)");
  return std::move(a.prog);
}

Program assemble_file(const std::string& path, const std::map<std::string, int64_t>& bind, bool strict) {
  return assemble(read_text_file(path, kMaxProgramBytes), path, bind, strict);
}

std::string listing(const Program& p) {
  std::ostringstream o;
  for (const TensorDecl& t : p.tensors)
    o << ".tensor " << t.name << ' ' << word_type_name(t.type) << ' ' << t.rows << ' ' << t.cols << "  ; @"
      << t.base << "\n";
  for (const ParamDecl& q : p.params) o << ".param " << q.name << ' ' << q.value << "\n";
  for (size_t i = 0; i < p.code.size(); ++i) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "%011llx", static_cast<unsigned long long>(p.words[i]));
    o << disassemble(p.code[i]) << "  ; " << hex << "  line " << p.lines[i] << "\n";
  }
  return o.str();
}

}  // namespace edgerun::sim::arap
