"""Built-in Chinese stopword list for citizen requests.

Function words, pronouns, particles, conjunctions, prepositions, filler adverbs and numerals.
Content words that name a matter or a government body (问题, 政府, 小区, 投诉, ...) are kept on
purpose: they carry category signal, and the publisher of the training copy kept them too.
"""

_PRONOUNS = """
我 我们 我家 你 你们 您 您们 他 他们 她 她们 它 它们 咱 咱们 自己 自身 本人 大家 人家 别人 他人
各位 这 这个 这些 这里 这边 这样 这么 这种 那 那个 那些 那里 那边 那么 那样 哪 哪个 哪些 哪里
哪儿 谁 什么 怎么 怎样 怎么样 如何 为何 为什么 何 何时 何处 多少 其 其中 其他 其它 此 该 某 某些
本 各 各个 各种 每 之 者
"""

_PARTICLES = """
的 了 着 过 地 得 之 所 们 吗 呢 吧 啊 呀 嘛 哦 哈 哎 唉 么 啦 罢了 的话 而已 似的 一样 等 等等
之类
"""

_CONJUNCTIONS = """
和 与 及 以及 及其 或 或者 或是 还是 并 并且 而 而且 而是 但 但是 可是 不过 然而 然后 于是
因为 因此 因 由于 所以 因而 从而 如果 假如 若 若是 要是 即使 即便 就算 虽然 虽 尽管 既然 既
只要 只有 除了 除非 否则 不然 不但 不仅 不仅仅 不管 无论 况且 何况 加上 加之 另外 另 此外 同时
首先 其次 再说 总之 例如 比如 比如说 如 如此 以便 以免 以至于 即
"""

_PREPOSITIONS = """
在 于 从 自 自从 向 往 对 对于 关于 把 被 给 让 叫 为 为了 以 按 按照 根据 依据 通过 经过 经 由
跟 同 比 离 到 至 直到 随着 随 鉴于 本着 凭 靠 除 据 趁 当 沿 沿着 作为
"""

_ADVERBS = """
是 有 也 都 就 还 又 再 才 很 太 更 更加 最 非常 十分 特别 极 极其 极为 挺 只 只是 仅 仅仅 就是
不 没 没有 别 未曾 可 可以 可能 能 能够 会 要 应 应该 应当 理应 须 必须 得以 将 将要 即将
已 已经 曾 曾经 正 正在 一直 一起 一下 一些 一切 有些 有点 有的 所有 任何 几乎 大概 大约
基本 基本上 其实 确实 居然 竟然 竟 难道 到底 究竟 反而 仍 仍然 仍旧 依然 还有 总是 经常
往往 常常 从来 从未 马上 立即 立刻 刚 刚刚 刚好 恰好 终于 毕竟 果然 也许 或许 大多 不少
很多 许多 好多 均 皆 共 一共 总共 尽量 尽 然 便 则 乃 即将 之后 以后 以前 之前 起来 出来
进来 进去 下来 下去 上来 上去
"""

_NUMERALS = """
一 二 三 四 五 六 七 八 九 十 百 千 万 亿 零 两 几 半 第 个 一个 一种 一次 一是 二是 三是
"""

STOPWORDS: frozenset[str] = frozenset(
    " ".join((_PRONOUNS, _PARTICLES, _CONJUNCTIONS, _PREPOSITIONS, _ADVERBS, _NUMERALS)).split()
)
"""Words dropped from every message before features are built."""
