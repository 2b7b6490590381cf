// XML in a legacy charset: many Chinese WMS and older ERPs send GBK (or GB2312, GB18030, Big5)
// and say so in the XML declaration. pugixml reads UTF-8, UTF-16, UTF-32 and ISO-8859-1 only, and
// would take GBK bytes for UTF-8 (refused then as "not valid UTF-8"). ToUtf8FromDeclared turns
// such a document into UTF-8 with glibc's iconv (part of libc, nothing to install) before it is
// parsed; the bytes received are kept as they came.
//
// Header-only: the built-in connectors (plugins) use it too.
#pragma once

#include <iconv.h>

#include <cctype>
#include <cerrno>
#include <string>
#include <string_view>

namespace channelhub::xml {

// The encoding named by the document's XML declaration (<?xml ... encoding="GBK"?>), or "" when
// it has none.
inline std::string DeclaredEncoding(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  if (!text.starts_with("<?xml")) return "";
  const std::size_t end = text.find("?>");
  if (end == std::string_view::npos || end > 512) return "";
  std::string_view decl = text.substr(0, end);
  const std::size_t at = decl.find("encoding");
  if (at == std::string_view::npos) return "";
  std::size_t i = at + 8;
  auto spaces = [&] {
    while (i < decl.size() && (decl[i] == ' ' || decl[i] == '\t' || decl[i] == '\r' || decl[i] == '\n')) ++i;
  };
  spaces();
  if (i >= decl.size() || decl[i] != '=') return "";
  ++i;
  spaces();
  if (i >= decl.size() || (decl[i] != '"' && decl[i] != '\'')) return "";
  const char quote = decl[i++];
  const std::size_t close = decl.find(quote, i);
  if (close == std::string_view::npos) return "";
  return std::string(decl.substr(i, close - i));
}

// Whether pugixml reads "name" itself (it tells these from the BOM or the declaration).
inline bool PugixmlReadsEncoding(std::string name) {
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name.empty() || name == "utf-8" || name == "utf8" || name == "utf-16" || name == "utf-16le" ||
         name == "utf-16be" || name == "utf-32" || name == "utf-32le" || name == "utf-32be" ||
         name == "iso-8859-1" || name == "latin1" || name == "latin-1";
}

enum class Charset { kAsIs, kConverted, kFailed };

// When the declaration names an encoding pugixml does not read, "*out" gets the document in
// UTF-8 (kConverted), or "*error" says why it cannot be (kFailed: an encoding iconv does not
// know, or bytes that are not of it). kAsIs: parse "text" as it is.
inline Charset ToUtf8FromDeclared(std::string_view text, std::string* out, std::string* error) {
  std::string name = DeclaredEncoding(text);
  if (PugixmlReadsEncoding(name)) return Charset::kAsIs;
  std::string upper = name;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  // GB18030 holds GB2312 and GBK, and is what senders that say "GBK" often really send.
  const std::string from = upper == "GBK" || upper == "GB2312" || upper == "CP936" || upper == "X-GBK" ? "GB18030" : name;
  iconv_t cd = ::iconv_open("UTF-8", from.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    *error = "XML declares encoding \"" + name + "\", which the hub cannot read; send UTF-8 (or GBK, GB18030, Big5, "
             "UTF-16, ISO-8859-1)";
    return Charset::kFailed;
  }
  out->assign(text.size() * 2 + 16, '\0');
  char* in = const_cast<char*>(text.data());
  std::size_t in_left = text.size();
  std::size_t done = 0;
  Charset result = Charset::kConverted;
  while (in_left > 0) {
    char* dst = out->data() + done;
    std::size_t dst_left = out->size() - done;
    const std::size_t rc = ::iconv(cd, &in, &in_left, &dst, &dst_left);
    done = out->size() - dst_left;
    if (rc != static_cast<std::size_t>(-1)) continue;
    if (errno == E2BIG) {
      out->resize(out->size() * 2);
      continue;
    }
    *error = "XML declares encoding \"" + name + "\", but byte " + std::to_string(text.size() - in_left) +
             (errno == EINVAL ? " starts a character the text cuts off" : " is not " + name);
    result = Charset::kFailed;
    break;
  }
  ::iconv_close(cd);
  out->resize(result == Charset::kConverted ? done : 0);
  return result;
}

}  // namespace channelhub::xml
