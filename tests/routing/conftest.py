"""Routing fixtures: a model folder per test, a synthetic labelled set, a trained model, the seeded catalogue."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from sqlmodel import select

from hotline.categories import Category
from hotline.config import Settings
from hotline.db import Database
from hotline.seed.catalogue import load_catalogue
from routing.classifier.dataset import LabelledTexts
from routing.classifier.model import save
from routing.classifier.training import train
from routing.registry import activate
from tests.conftest import City

# Words that speak for each of the public set's seven first-level categories (which exist in the demo tree).
VOCABULARY = {
    "城乡建设": "物业 小区 电梯 路灯 井盖 违建 拆迁 房屋 下水道 垃圾 绿化 楼盘",
    "劳动和社会保障": "工资 社保 养老金 劳动合同 工伤 退休 公司 加班 欠薪 失业 单位 社保局",
    "教育文体": "学校 老师 学生 补课 招生 入学 幼儿园 教育局 考试 课外 体育 图书馆",
    "商贸旅游": "商家 消费者 退款 价格 景区 商品 超市 假货 售后 旅行社 市场 广告",
    "环境保护": "污染 排放 噪音 废气 污水 异味 工厂 扬尘 环保 化工 烟尘 河水",
    "卫生计生": "医院 医生 看病 药品 疫苗 卫生院 诊所 生育 护士 患者 病人 门诊",
    "交通运输": "公交 出租车 道路 公路 驾校 客运 车辆 线路 司机 车站 高速 运输",
}
COMMON = "反映 问题 希望 尽快 解决 一直 多次 附近 我们 情况".split()
EXAMPLES_PER_LABEL = 80


def synthetic_examples(per_label: int = EXAMPLES_PER_LABEL, seed: int = 3) -> list[tuple[str, str]]:
    """Short messages made of a category's own words and some common ones: easy to learn, fully deterministic."""
    rng = random.Random(seed)
    rows = []
    for label, words in VOCABULARY.items():
        vocabulary = words.split()
        for _ in range(per_label):
            picked = rng.sample(vocabulary, 5) + rng.sample(COMMON, 3)
            rng.shuffle(picked)
            rows.append(("".join(picked), label))
    return rows


def write_jsonl(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"text": t, "label": label}, ensure_ascii=False) + "\n" for t, label in rows))
    return path


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model version trained once per run on the synthetic set."""
    rows = synthetic_examples()
    model = train(LabelledTexts([t for t, _ in rows], [label for _, label in rows]))
    folder = tmp_path_factory.mktemp("trained")
    return save(model, folder / model.version)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """This test's folder of model versions (empty: no model trained yet)."""
    folder = tmp_path / "models"
    folder.mkdir()
    return folder


@pytest.fixture
def settings(settings: Settings, model_dir: Path) -> Settings:
    """The shared test settings, with this test's model folder."""
    settings.model_dir = model_dir
    return settings


@pytest.fixture
def active_model(model_dir: Path, trained_model_dir: Path) -> str:
    """Put the trained model in this test's folder and make it active; returns its version."""
    version = trained_model_dir.name
    shutil.copytree(trained_model_dir, model_dir / version)
    activate(model_dir, version, by="test")
    return version


@pytest.fixture
async def catalogue(db: Database, city: City) -> int:
    """The demo city's dispatch catalogue; returns how many rules it has."""
    async with db.session() as session:
        return await load_catalogue(session, city.units)


@pytest.fixture
async def category_ids(db: Database, city: City) -> dict[str, int]:
    """The demo tree's category ids by code."""
    async with db.read_session() as session:
        return {c.code: c.id for c in (await session.execute(select(Category))).scalars() if c.id is not None}
