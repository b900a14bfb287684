// The parser of the IR text form (grammar in docs/ir-text-format.md): module structure, meshes,
// symbols, parameters, functions, ops and their typed attributes. Tokens, numbers, dims, types
// and shardings come from TextReader, dense literals from TensorLiteral.
//
// Ops are created with Function::addOp, so an op's shape rule checks the result types the text
// declares, and its errors come out at the op's location. The parser stops at the first error.
#include "ir/Parser.h"

#include <map>

#include "ir/text/TensorLiteral.h"
#include "ir/text/TextReader.h"

namespace tessera::ir {

using text::Reader;
using text::Tok;
using text::Token;

namespace {

// Meshes larger than this are refused: Mesh stores one device id per coordinate.
constexpr int64_t kMaxMeshDevices = int64_t{1} << 20;

// Status::error(message) without a location prints "error: ..."; relocate it to `at`.
Status relocate(const Reader& r, const Token& at, const Status& s) {
  std::string msg = s.message();
  const std::string prefix = "error: ";
  if (msg.compare(0, prefix.size(), prefix) == 0) msg = msg.substr(prefix.size());
  return r.errorAt(at, msg);
}

class ModuleParser {
 public:
  ModuleParser(std::string_view input, const std::string& filename) : r_(input, filename) {}

  StatusOr<std::unique_ptr<Module>> run() {
    TRY(r_.expectWord("module"));
    std::string name;
    if (r_.at(Tok::GlobalName)) name = std::string(r_.take().text);
    m_ = std::make_unique<Module>(name);
    TRY(r_.expect(Tok::LBrace, "'{' opening the module"));
    while (!r_.at(Tok::RBrace)) {
      if (r_.atWord("mesh"))
        TRY(parseMesh());
      else if (r_.atWord("sym"))
        TRY(parseSym());
      else if (r_.atWord("param"))
        TRY(parseParam());
      else if (r_.atWord("func"))
        TRY(parseFunc());
      else
        return r_.expected("'mesh', 'sym', 'param', 'func' or '}'");
    }
    r_.take();
    if (!r_.at(Tok::End)) return r_.expected("end of input after the module");
    return std::move(m_);
  }

 private:
  // ---------------------------------------------------------------- meshes and symbols

  Status parseMesh() {
    const Token& kw = r_.take();
    const Token& nameTok = r_.peek();
    TRY(r_.expect(Tok::GlobalName, "a mesh name such as '@m'"));
    std::string name(nameTok.text);
    if (m_->findMesh(name)) return r_.errorAt(nameTok, "mesh @" + name + " is declared twice");
    TRY(r_.expect(Tok::Equal, "'=' after the mesh name"));
    Mesh mesh;
    if (r_.at(Tok::GlobalName)) {
      TRY_ASSIGN(mesh, parseSubMesh(name));
    } else {
      TRY_ASSIGN(mesh, parseMeshAxes(name));
    }
    mesh.loc = r_.loc(kw);
    TRY(mesh.check());
    m_->meshes.push_back(std::move(mesh));
    return Status::ok();
  }

  StatusOr<Mesh> parseMeshAxes(const std::string& name) {
    TRY(r_.expect(Tok::Less, "'<' starting the mesh axes, or a parent mesh '@name'"));
    std::vector<MeshAxis> axes;
    int64_t devices = 1;
    while (!r_.at(Tok::Greater)) {
      if (!axes.empty()) TRY(r_.expect(Tok::Comma, "',' or '>' in the mesh axes"));
      TRY_ASSIGN(std::string axis, r_.parseIdent("a mesh axis name"));
      TRY(r_.expect(Tok::Equal, "'=' after the mesh axis name"));
      const Token& sizeTok = r_.peek();
      TRY_ASSIGN(int64_t size, r_.parseInt("the axis size"));
      if (size <= 0)
        return r_.errorAt(sizeTok, "mesh axis '" + axis + "' has size " + std::to_string(size) +
                                       "; sizes must be positive");
      if (__builtin_mul_overflow(devices, size, &devices) || devices > kMaxMeshDevices)
        return r_.errorAt(sizeTok, "mesh @" + name + " has more than " +
                                       std::to_string(kMaxMeshDevices) + " devices");
      axes.push_back({std::move(axis), size});
    }
    r_.take();
    Mesh mesh = Mesh::make(name, std::move(axes));
    if (r_.atWord("devices")) {
      r_.take();
      TRY(r_.expect(Tok::Equal, "'=' after 'devices'"));
      TRY(r_.expect(Tok::LBracket, "'[' starting the device list"));
      std::vector<int64_t> ids;
      while (!r_.at(Tok::RBracket)) {
        if (!ids.empty()) TRY(r_.expect(Tok::Comma, "',' or ']' in the device list"));
        const Token& at = r_.peek();
        TRY_ASSIGN(int64_t id, r_.parseInt("a device id"));
        if (static_cast<int64_t>(ids.size()) >= mesh.numDevices())
          return r_.errorAt(at, "mesh @" + name + " has " + std::to_string(mesh.numDevices()) +
                                    " devices but more are listed");
        ids.push_back(id);
      }
      r_.take();
      mesh.devices = std::move(ids);
    }
    return mesh;
  }

  StatusOr<Mesh> parseSubMesh(const std::string& name) {
    const Token& parentTok = r_.take();
    const Mesh* parent = m_->findMesh(std::string(parentTok.text));
    if (!parent)
      return r_.errorAt(parentTok, "unknown mesh @" + std::string(parentTok.text) +
                                       " (a parent mesh must be declared before its sub-meshes)");
    TRY(r_.expect(Tok::LBracket, "'[' with the fixed axes of the parent mesh"));
    std::vector<std::pair<std::string, int64_t>> fixed;
    while (!r_.at(Tok::RBracket)) {
      if (!fixed.empty()) TRY(r_.expect(Tok::Comma, "',' or ']' in the fixed axes"));
      TRY_ASSIGN(std::string axis, r_.parseIdent("a mesh axis name"));
      TRY(r_.expect(Tok::Equal, "'=' after the mesh axis name"));
      TRY_ASSIGN(int64_t index, r_.parseInt("the axis index"));
      fixed.emplace_back(std::move(axis), index);
    }
    auto sub = Mesh::subMesh(name, *parent, std::move(fixed));
    if (!sub.isOk()) return relocate(r_, parentTok, sub.status());
    r_.take();
    return std::move(sub).value();
  }

  Status parseSym() {
    const Token& kw = r_.take();
    const Token& nameTok = r_.peek();
    TRY_ASSIGN(std::string name, r_.parseIdent("a symbol name"));
    if (m_->findSymbol(name)) return r_.errorAt(nameTok, "symbol " + name + " is declared twice");
    SymbolDecl sym{name, 1, r_.loc(kw)};
    if (r_.atWord("divisible_by")) {
      r_.take();
      const Token& at = r_.peek();
      TRY_ASSIGN(sym.divisibleBy, r_.parseInt("a positive integer after 'divisible_by'"));
      if (sym.divisibleBy <= 0)
        return r_.errorAt(
            at, "divisible_by must be positive, found " + std::to_string(sym.divisibleBy));
    }
    m_->symbols.push_back(std::move(sym));
    return Status::ok();
  }

  // ---------------------------------------------------------------- parameters

  Status parseParam() {
    const Token& kw = r_.take();
    const Token& nameTok = r_.peek();
    TRY(r_.expect(Tok::GlobalName, "a parameter name such as '@w'"));
    Parameter p;
    p.name = std::string(nameTok.text);
    p.loc = r_.loc(kw);
    if (m_->findParam(p.name))
      return r_.errorAt(nameTok, "parameter @" + p.name + " is declared twice");
    TRY(r_.expect(Tok::Colon, "':' and the parameter type"));
    TRY_ASSIGN(p.type, r_.parseType());
    if (r_.atSharding()) { TRY_ASSIGN(p.sharding, r_.parseSharding()); }
    if (r_.atWord("frozen")) {
      r_.take();
      p.trainable = false;
    }
    if (r_.at(Tok::Equal)) {
      r_.take();
      const Token& at = r_.peek();
      if (!r_.atWord("dense")) return r_.expected("a 'dense<...>' initial value");
      TRY_ASSIGN(Tensor init, text::parseDense(r_));
      bool same = init.dtype() == p.type.dtype && init.rank() == p.type.rank();
      for (int i = 0; same && i < init.rank(); ++i) same = p.type.shape[i] == Dim(init.shape()[i]);
      if (!same)
        return r_.errorAt(at, "initial value " + std::string(dtypeName(init.dtype())) +
                                  init.shapeStr() + " does not match the parameter type " +
                                  p.type.str());
      p.init = std::make_shared<const Tensor>(std::move(init));
    }
    m_->params.push_back(std::move(p));
    return Status::ok();
  }

  // ---------------------------------------------------------------- functions

  Status parseFunc() {
    const Token& kw = r_.take();
    const Token& nameTok = r_.peek();
    TRY(r_.expect(Tok::GlobalName, "a function name such as '@main'"));
    std::string fname(nameTok.text);
    if (m_->findFunction(fname))
      return r_.errorAt(nameTok, "function @" + fname + " is declared twice");
    Function* f = m_->addFunction(fname);
    f->loc = r_.loc(kw);
    std::map<std::string, Value*> values;

    TRY(r_.expect(Tok::LParen, "'(' starting the arguments"));
    while (!r_.at(Tok::RParen)) {
      if (f->numArguments() > 0) TRY(r_.expect(Tok::Comma, "',' or ')' in the arguments"));
      const Token& argTok = r_.peek();
      TRY(r_.expect(Tok::ValueName, "an argument name such as '%x'"));
      std::string name(argTok.text);
      if (values.count(name)) return r_.errorAt(argTok, "argument %" + name + " is declared twice");
      TRY(r_.expect(Tok::Colon, "':' and the argument type"));
      TRY_ASSIGN(TensorType type, r_.parseType());
      std::optional<Sharding> sharding;
      if (r_.atSharding()) { TRY_ASSIGN(sharding, r_.parseSharding()); }
      values[name] = f->addArgument(std::move(type), name, std::move(sharding));
    }
    r_.take();

    std::vector<TensorType> resultTypes;
    if (r_.at(Tok::Arrow)) {
      r_.take();
      if (r_.at(Tok::LParen)) {
        r_.take();
        while (!r_.at(Tok::RParen)) {
          if (!resultTypes.empty()) TRY(r_.expect(Tok::Comma, "',' or ')' in the result types"));
          TRY_ASSIGN(TensorType t, r_.parseType());
          resultTypes.push_back(std::move(t));
        }
        r_.take();
      } else {
        TRY_ASSIGN(TensorType t, r_.parseType());
        resultTypes.push_back(std::move(t));
      }
    }
    TRY(r_.expect(Tok::LBrace, "'{' opening the function body"));
    while (!r_.atWord("return")) TRY(parseOp(*f, values));
    return parseReturn(*f, values, resultTypes);
  }

  Status parseReturn(Function& f, std::map<std::string, Value*>& values,
                     const std::vector<TensorType>& resultTypes) {
    const Token& kw = r_.take();
    f.returnLoc = r_.loc(kw);
    std::vector<Value*> results;
    std::vector<const Token*> toks;
    if (r_.at(Tok::ValueName)) {
      for (;;) {
        toks.push_back(&r_.peek());
        TRY_ASSIGN(Value * v, parseUse(values));
        results.push_back(v);
        if (!r_.at(Tok::Comma)) break;
        r_.take();
      }
    }
    if (results.size() != resultTypes.size())
      return r_.errorAt(kw, "function @" + f.name() + " returns " + std::to_string(results.size()) +
                                " values but its signature "
                                "declares " +
                                std::to_string(resultTypes.size()));
    for (size_t i = 0; i < results.size(); ++i)
      if (results[i]->type() != resultTypes[i])
        return r_.errorAt(*toks[i], "returned value %" + std::string(toks[i]->text) + " has type " +
                                        results[i]->type().str() + " but the signature declares " +
                                        resultTypes[i].str());
    TRY(r_.expect(Tok::RBrace, "'}' closing the function after 'return'"));
    f.setResults(std::move(results));
    return Status::ok();
  }

  StatusOr<Value*> parseUse(const std::map<std::string, Value*>& values) {
    const Token& t = r_.peek();
    if (!r_.at(Tok::ValueName)) return r_.expected("a value such as '%x'");
    auto it = values.find(std::string(t.text));
    if (it == values.end()) return r_.errorAt(t, "use of undefined value %" + std::string(t.text));
    r_.take();
    return it->second;
  }

  // ---------------------------------------------------------------- ops

  Status parseOp(Function& f, std::map<std::string, Value*>& values) {
    const Token& start = r_.peek();
    std::vector<const Token*> names;
    if (r_.at(Tok::ValueName)) {
      for (;;) {
        const Token& t = r_.take();
        if (values.count(std::string(t.text)))
          return r_.errorAt(t, "value %" + std::string(t.text) + " is defined twice");
        for (const Token* other : names)
          if (other->text == t.text)
            return r_.errorAt(t, "value %" + std::string(t.text) + " is defined twice");
        names.push_back(&t);
        if (!r_.at(Tok::Comma)) break;
        r_.take();
        if (!r_.at(Tok::ValueName)) return r_.expected("a result name such as '%y'");
      }
      TRY(r_.expect(Tok::Equal, "'=' after the result names"));
    }
    const Token& mn = r_.peek();
    if (!r_.at(Tok::Ident)) return r_.expected("an op name or 'return'");
    std::optional<OpKind> kind = opKindFromMnemonic(mn.text);
    if (!kind) return r_.errorAt(mn, "unknown op '" + std::string(mn.text) + "'");
    r_.take();
    const OpInfo& info = opInfo(*kind);
    std::string opName = "'" + std::string(info.mnemonic) + "'";
    if (static_cast<int>(names.size()) != info.numResults)
      return r_.errorAt(start, opName + " has " + std::to_string(info.numResults) +
                                   " result(s) but " + std::to_string(names.size()) +
                                   " result name(s) are given");

    OpSpec spec{*kind, {}, {}, {}, r_.loc(start)};
    if (r_.at(Tok::ValueName)) {
      for (;;) {
        TRY_ASSIGN(Value * v, parseUse(values));
        spec.operands.push_back(v);
        if (!r_.at(Tok::Comma)) break;
        r_.take();
      }
    }
    std::vector<bool> seen(info.attrs.size(), false);
    while (r_.at(Tok::Ident) && r_.at(Tok::Equal, 1)) {
      const Token& nameTok = r_.take();
      r_.take();
      int idx = info.attrIndex(nameTok.text);
      if (idx < 0) return r_.errorAt(nameTok, unknownAttr(info, nameTok.text));
      if (seen[idx])
        return r_.errorAt(nameTok, "attribute '" + std::string(nameTok.text) + "' is given twice");
      seen[idx] = true;
      TRY_ASSIGN(AttrValue v, parseAttr(info, info.attrs[idx]));
      spec.attrs.emplace_back(std::string(nameTok.text), std::move(v));
    }
    std::vector<std::optional<Sharding>> shardings;
    if (info.numResults > 0) {
      TRY(r_.expect(Tok::Colon, "':' and the result types"));
      for (;;) {
        TRY_ASSIGN(TensorType t, r_.parseType());
        spec.declared.push_back(std::move(t));
        shardings.emplace_back();
        if (r_.atSharding()) { TRY_ASSIGN(shardings.back(), r_.parseSharding()); }
        if (!r_.at(Tok::Comma)) break;
        r_.take();
      }
      if (static_cast<int>(spec.declared.size()) != info.numResults)
        return r_.errorAt(start, opName + " has " + std::to_string(info.numResults) +
                                     " result(s) but " + std::to_string(spec.declared.size()) +
                                     " result type(s) are given");
    } else if (r_.at(Tok::Colon)) {
      return r_.errorAt(r_.peek(), opName + " has no results, so it takes no result types");
    }

    TRY_ASSIGN(Op * op, f.addOp(std::move(spec)));
    for (int i = 0; i < op->numResults(); ++i) {
      Value* v = op->result(i);
      v->setName(std::string(names[i]->text));
      v->setSharding(std::move(shardings[i]));
      values[v->name()] = v;
    }
    return Status::ok();
  }

  static std::string unknownAttr(const OpInfo& info, std::string_view name) {
    std::string msg =
        "'" + std::string(info.mnemonic) + "' has no attribute '" + std::string(name) + "'";
    if (info.attrs.empty()) return msg + " (it takes none)";
    msg += " (it has: ";
    for (size_t i = 0; i < info.attrs.size(); ++i)
      msg += (i ? ", " : "") + std::string(info.attrs[i].name);
    return msg + ")";
  }

  StatusOr<AttrValue> parseAttr(const OpInfo& info, const AttrSpec& spec) {
    std::string what = std::string(" for attribute '") + spec.name + "' of '" + info.mnemonic + "'";
    switch (spec.kind) {
      case AttrKind::Int: {
        TRY_ASSIGN(int64_t v, r_.parseInt("an integer" + what));
        return AttrValue(v);
      }
      case AttrKind::Float: {
        TRY_ASSIGN(double v, r_.parseFloat("a number" + what));
        return AttrValue(v);
      }
      case AttrKind::Bool:
        if (r_.atWord("true") || r_.atWord("false")) return AttrValue(r_.take().text == "true");
        return r_.expected("'true' or 'false'" + what);
      case AttrKind::IntList: {
        TRY(r_.expect(Tok::LBracket, "'[' starting an integer list" + what));
        std::vector<int64_t> xs;
        while (!r_.at(Tok::RBracket)) {
          if (!xs.empty()) TRY(r_.expect(Tok::Comma, "',' or ']' in the integer list"));
          TRY_ASSIGN(int64_t v, r_.parseInt("an integer"));
          xs.push_back(v);
        }
        r_.take();
        return AttrValue(std::move(xs));
      }
      case AttrKind::DimList: {
        if (!r_.at(Tok::LBracket)) return r_.expected("'[' starting a dimension list" + what);
        TRY_ASSIGN(Shape dims, r_.parseShape());
        return AttrValue(std::move(dims));
      }
      case AttrKind::AxisList: {
        TRY(r_.expect(Tok::LBracket, "'[' starting a mesh axis list" + what));
        AxisList axes;
        while (!r_.at(Tok::RBracket)) {
          if (!axes.axes.empty()) TRY(r_.expect(Tok::Comma, "',' or ']' in the axis list"));
          TRY_ASSIGN(std::string a, r_.parseIdent("a mesh axis"));
          axes.axes.push_back(std::move(a));
        }
        r_.take();
        return AttrValue(std::move(axes));
      }
      case AttrKind::Enum: {
        const EnumDef& def = *spec.enumDef;
        std::string choices;
        for (size_t i = 0; i < def.values.size(); ++i)
          choices += (i ? ", " : "") + std::string(def.values[i]);
        int idx = r_.at(Tok::Ident) ? def.indexOf(r_.peek().text) : -1;
        if (idx < 0) return r_.expected("a " + std::string(def.name) + " (" + choices + ")" + what);
        r_.take();
        return AttrValue(EnumAttr{&def, idx});
      }
      case AttrKind::DType: {
        if (!r_.at(Tok::Ident)) return r_.expected("an element type" + what);
        TRY_ASSIGN(DType dt, r_.parseDTypeWord());
        return AttrValue(dt);
      }
      case AttrKind::Tensor: {
        if (!r_.atWord("dense")) return r_.expected("a 'dense<...>' tensor" + what);
        TRY_ASSIGN(Tensor t, text::parseDense(r_));
        return AttrValue(TensorAttr{std::make_shared<const Tensor>(std::move(t))});
      }
      case AttrKind::MeshRef:
        if (!r_.at(Tok::GlobalName)) return r_.expected("a mesh such as '@m'" + what);
        return AttrValue(MeshRef{std::string(r_.take().text)});
    }
    return r_.expected("an attribute value");
  }

  Reader r_;
  std::unique_ptr<Module> m_;
};

}  // namespace

StatusOr<std::unique_ptr<Module>> parseModule(std::string_view text, const std::string& filename) {
  return ModuleParser(text, filename).run();
}

}  // namespace tessera::ir
