// Happens-before edges that ThreadSanitizer cannot see by itself: Debian's
// oneTBB is not instrumented, so handing work to a TBB task (task_group::run)
// and waiting for it carry no synchronisation TSan knows of. The executor and
// the blocked products mark those hand-offs (and use no TBB algorithm that
// hands work over inside libtbb, such as parallel_for); what TBB does with its
// own data is left out by tools/tsan.supp. In every other build these are
// empty inline functions.
#pragma once

#if defined(__SANITIZE_THREAD__)
#define SG_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SG_TSAN 1
#endif
#endif

#ifdef SG_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
extern "C" void AnnotateIgnoreWritesBegin(const char* file, int line);
extern "C" void AnnotateIgnoreWritesEnd(const char* file, int line);
#endif

namespace sg {

// What this thread did so far happens before whatever tsan_acquire(p) follows.
inline void tsan_release([[maybe_unused]] const void* p) {
#ifdef SG_TSAN
  __tsan_release(const_cast<void*>(p));
#endif
}
inline void tsan_acquire([[maybe_unused]] const void* p) {
#ifdef SG_TSAN
  __tsan_acquire(const_cast<void*>(p));
#endif
}

// The writes of this thread while one lives are not recorded: the copy of a
// task's closure into TBB's task object, which libtbb hands to another thread
// out of TSan's sight (no release can follow that copy and precede the
// hand-off). The task's own data is published with tsan_release first.
struct TsanIgnoreWrites {
#ifdef SG_TSAN
  TsanIgnoreWrites() { AnnotateIgnoreWritesBegin(__FILE__, __LINE__); }
  ~TsanIgnoreWrites() { AnnotateIgnoreWritesEnd(__FILE__, __LINE__); }
#endif
};

} // namespace sg
