// A manager dict shared by two separately started programs: this program makes a named segment
// (fl::manager) with a dict of stock in it, then starts a second program (itself, with
// `--shop NAME`, by posix_spawn: not a fork, so it shares nothing but the segment's name). The
// shop attaches by name, sells from the dict with atomic updates, and logs its sales in a list;
// the first program prints what it finds afterwards. Python's Manager().dict() does this through
// a server process; here the objects live in the segment itself.
//   mp_manager_dict                 the warehouse (starts the shop)
//   mp_manager_dict --shop NAME     the shop
#include <forkline/forkline.hpp>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

extern char** environ;

namespace fl = forkline;

namespace {

using stock = fl::shared_dict<std::string, int>;

int shop(const std::string& name) {
    fl::manager m(name);  // attach: the segment exists already
    stock items = m.dict<std::string, int>("stock");
    auto sales = m.list<std::string>("sales");
    for (const char* item : {"apples", "pears", "apples", "plums", "apples"}) {
        int left = items.update(item, [](int& n) { n -= 1; });  // read, change, write: one step
        sales.push_back(std::string(item) + " (" + std::to_string(left) + " left)");
    }
    return 0;
}

int warehouse(const char* self) {
    // The segment's name must be unique on the machine: /dev/shm/forkline.NAME.
    const std::string name = "manager-dict-example-" + std::to_string(::getpid());
    fl::manager m(name, 1 << 16);
    struct remove_at_end {
        const std::string& name;
        ~remove_at_end() { fl::manager::remove(name); }  // a segment lasts until removed, as a file does
    } cleanup{name};

    stock items = m.dict<std::string, int>("stock");
    items.set("apples", 10);
    items.set("pears", 4);
    items.set("plums", 7);

    std::vector<std::string> args{self, "--shop", name};
    std::vector<char*> argv{args[0].data(), args[1].data(), args[2].data(), nullptr};
    pid_t pid;
    if (int err = ::posix_spawn(&pid, self, nullptr, nullptr, argv.data(), environ)) {
        std::fprintf(stderr, "cannot start the shop: error %d\n", err);
        return 1;
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::printf("the shop exited with %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

    for (const auto& sale : m.list<std::string>("sales").to_vector()) std::printf("sold %s\n", sale.c_str());
    for (const char* item : {"apples", "pears", "plums"}) std::printf("%-7s %d\n", item, *items.get(item));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        if (argc == 3 && std::string(argv[1]) == "--shop") return shop(argv[2]);
        return warehouse("/proc/self/exe");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mp_manager_dict: %s\n", e.what());
        return 1;
    }
}
