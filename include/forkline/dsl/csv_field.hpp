// forkline::csv_field<T>: how one CSV field becomes a T and back. Specialize it for your own
// types (dates, money); strings, integers, floating point, bool and std::optional come with it.
#pragma once

#include <charconv>
#include <concepts>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace forkline {

/// The customization point of fl::read_csv and fl::write_csv. A specialization has
/// `static bool parse(std::string_view field, T& out)` (false: the field is no T),
/// `static constexpr std::string_view expected` (what a T looks like, for rejects: "a date"), and
/// `static void write(const T& v, std::string& out)` (appends v's text; quoting is done for you).
/// Example:
/// ```
/// template <> struct fl::csv_field<money> {
///     static constexpr std::string_view expected = "an amount such as 12.50";
///     static bool parse(std::string_view s, money& m) { return money::parse(s, m); }
///     static void write(const money& m, std::string& out) { out += m.to_string(); }
/// };
/// ```
template <class T>
struct csv_field;

namespace detail {
/// The field is a number and nothing else (a leading '+' allowed), read with std::from_chars.
template <class T>
bool whole_number(std::string_view s, T& out) {
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
}
}  // namespace detail

template <class C, class Tr, class A>
struct csv_field<std::basic_string<C, Tr, A>> {
    static constexpr std::string_view expected = "text";
    static bool parse(std::string_view s, std::basic_string<C, Tr, A>& out) {
        out.assign(s);
        return true;
    }
    static void write(const std::basic_string<C, Tr, A>& v, std::string& out) { out += v; }
};

/// A view of the field: valid while the stages of the reader's process handle the row (a row
/// with one cannot cross to another process).
template <>
struct csv_field<std::string_view> {
    static constexpr std::string_view expected = "text";
    static bool parse(std::string_view s, std::string_view& out) {
        out = s;
        return true;
    }
    static void write(std::string_view v, std::string& out) { out += v; }
};

template <class T>
    requires(std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char>)
struct csv_field<T> {
    static constexpr std::string_view expected = std::is_signed_v<T> ? "an integer" : "a non-negative integer";
    static bool parse(std::string_view s, T& out) { return detail::whole_number(s, out); }
    static void write(T v, std::string& out) {
        char buf[24];
        out.append(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
    }
};

template <std::floating_point T>
struct csv_field<T> {
    static constexpr std::string_view expected = "a number";
    static bool parse(std::string_view s, T& out) { return detail::whole_number(s, out); }
    static void write(T v, std::string& out) {
        char buf[64];
        out.append(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
    }
};

template <>
struct csv_field<bool> {
    static constexpr std::string_view expected = "true or false (or 1 or 0)";
    static bool parse(std::string_view s, bool& out) {
        if (s == "true" || s == "1" || s == "True" || s == "TRUE") return out = true, true;
        if (s == "false" || s == "0" || s == "False" || s == "FALSE") return out = false, true;
        return false;
    }
    static void write(bool v, std::string& out) { out += v ? "true" : "false"; }
};

/// An empty field is no value; any other must be a T.
template <class T>
struct csv_field<std::optional<T>> {
    static constexpr std::string_view expected = csv_field<T>::expected;
    static bool parse(std::string_view s, std::optional<T>& out) {
        if (s.empty()) {
            out.reset();
            return true;
        }
        return csv_field<T>::parse(s, out.emplace());
    }
    static void write(const std::optional<T>& v, std::string& out) {
        if (v) csv_field<T>::write(*v, out);
    }
};

namespace detail {
template <class T>
concept csv_convertible = requires(std::string_view s, T& v, std::string& out) {
    { csv_field<T>::parse(s, v) } -> std::convertible_to<bool>;
    csv_field<T>::expected;
};
}  // namespace detail

}  // namespace forkline
