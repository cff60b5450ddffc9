"""The assistant as a LangChain Runnable, its retriever in a user's LCEL chain, and any LangChain
chat model as the answering backend (RAG_CHAT_MODEL)."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough

from rag.assistant import Assistant
from rag.config import load_settings
from rag.errors import ConfigError, InputError
from rag.generation import make_generator
from rag.generation.chat_models import parse_model_name
from rag.runnable import AssistantRunnable, parse_history, parse_input

from .conftest import SEED_ID, seed_text
from .test_generation import openai_server  # noqa: F401  (the real OpenAI-compatible server fixture)

QUESTION = "What did Russia send Cuba and why?"


@pytest.fixture
def store_mode() -> str:
    """The Runnable is a thin layer over the assistant, whose store matrix runs elsewhere."""
    return "embedded"


@pytest.fixture
def runnable(seed_assistant: Assistant) -> AssistantRunnable:
    return AssistantRunnable(seed_assistant)


def check_citations(answer: dict) -> None:
    text = seed_text()
    assert answer["citations"]
    for citation in answer["citations"]:
        assert text[citation["start"]:citation["end"]] == citation["quote"]


def test_invoke_returns_the_ask_json_object(runnable: AssistantRunnable, seed_assistant: Assistant) -> None:
    assert isinstance(runnable, Runnable)
    answer = runnable.invoke(QUESTION)
    assert answer.keys() == seed_assistant.ask(QUESTION).to_json().keys()
    assert not answer["abstained"] and "100 tons" in answer["answer"]
    check_citations(answer)


def test_input_with_history_and_filters(runnable: AssistantRunnable) -> None:
    history = [{"role": "user", "content": "How many planes flew to Cuba?"},
               {"role": "assistant", "content": "Two cargo planes flew to Cuba [1]."}]
    follow_up = runnable.invoke({"question": "What did it carry?", "history": history})
    assert "An-124 cargo planes" in follow_up["answer"], "read with the last question"
    assert "An-124" not in runnable.invoke("What did it carry?")["answer"]
    pairs = runnable.invoke({"question": "What did it carry?", "history": [("How many planes flew to Cuba?", "Two.")]})
    assert pairs["standalone_question"] == follow_up["standalone_question"]
    assert runnable.invoke({"question": QUESTION, "filters": {"doc_ids": [SEED_ID]}})["citations"]
    elsewhere = runnable.invoke({"question": QUESTION, "filters": {"doc_ids": ["no-such-document"]}})
    assert elsewhere["abstained"] and not elsewhere["citations"]


def test_history_in_every_form_a_user_has_it() -> None:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
    history = [SystemMessage("Be brief."), HumanMessage("q1"), AIMessage("a1"), {"role": "user", "content": "q2"},
               {"role": "assistant", "content": "a2"}, ("q3", "a3"), {"role": "user", "content": "unanswered"}]
    assert parse_history(history) == [("q1", "a1"), ("q2", "a2"), ("q3", "a3")]


@pytest.mark.parametrize("value, problem", [
    ({"query": "x"}, "mapping with 'question'"),
    ({"question": "x", "filters": {"author": "me"}}, "unknown filter"),
    ({"question": "x", "history": [42]}, "history item"),
    (42, "mapping with 'question'"),
])
def test_bad_input_is_an_input_error(value: object, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        parse_input(value)  # type: ignore[arg-type]


def test_stream_yields_the_chat_events_as_dicts(runnable: AssistantRunnable) -> None:
    events = list(runnable.stream("Who ordered the delivery?"))
    kinds = [e["type"] for e in events]
    assert kinds[0] == "status" and kinds[-1] == "done" and "token" in kinds
    assert kinds.index("sources") < kinds.index("token")
    sources = events[kinds.index("sources")]
    assert sources["hits"][0]["rank"] == 1 and sources["hits"][0]["doc_id"] == SEED_ID
    assert "Putin" in events[-1]["answer"]["answer"]
    assert {"searching", "writing", "verifying"} <= {e["stage"] for e in events if e["type"] == "status"}


def test_batch_and_async_forms(runnable: AssistantRunnable) -> None:
    questions = ["Who ordered the delivery?", "What is the capital of France?"]
    ordered, declined = runnable.batch(questions)
    assert "Putin" in ordered["answer"] and declined["abstained"] and "Paris" not in declined["answer"]

    async def run() -> tuple[dict, list[dict], list[dict]]:
        return (await runnable.ainvoke(questions[0]), await runnable.abatch(questions),
                [event async for event in runnable.astream(questions[0])])

    single, both, events = asyncio.run(run())
    assert single["answer"] == ordered["answer"] and [b["answer"] for b in both] == [ordered["answer"],
                                                                                    declined["answer"]]
    assert events[-1] == {"type": "done", "answer": {**single, "timings_ms": events[-1]["answer"]["timings_ms"]}}
    assert [e["type"] for e in events].count("token") >= 1


def test_retriever_in_a_users_lcel_chain(runnable: AssistantRunnable) -> None:
    retriever = runnable.as_retriever(k=2)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke(QUESTION)
    assert len(docs) == 2 and all(isinstance(d, Document) for d in docs)
    text = seed_text()
    for doc in docs:  # provenance a citation needs: offsets into the document's text
        assert doc.metadata["doc_id"] == SEED_ID and text[doc.metadata["start"]:doc.metadata["end"]] == doc.page_content

    seen: list[str] = []

    def format_docs(found: list[Document]) -> str:
        return "\n\n".join(f"[{n}] {d.page_content}" for n, d in enumerate(found, start=1))

    def record(prompt):  # type: ignore[no-untyped-def]
        seen.append(prompt.to_string())
        return prompt

    prompt = ChatPromptTemplate.from_messages([("system", "Answer from the passages, citing [n]."),
                                               ("human", "{context}\n\nQuestion: {question}")])
    model = FakeListChatModel(responses=["Russia sent 100 tons of aid [1]."])
    chain = ({"context": retriever | format_docs, "question": RunnablePassthrough()}
             | prompt | RunnableLambda(record) | model | StrOutputParser())
    assert chain.invoke(QUESTION) == "Russia sent 100 tons of aid [1]."
    assert "[1] " in seen[0] and "[3] " not in seen[0] and "100 tons" in seen[0] and QUESTION in seen[0]
    assert runnable.as_retriever(filters={"doc_ids": ["no-such-document"]}).invoke(QUESTION) == []


@pytest.mark.parametrize("spec, expected", [
    ("ollama:qwen3:4b", ("ollama", "qwen3:4b")),
    ("openai:gpt-4.1-mini", ("openai", "gpt-4.1-mini")),
    (" Google-GenAI:gemini-2.5-flash ", ("google_genai", "gemini-2.5-flash")),
])
def test_chat_model_names(spec: str, expected: tuple[str, str]) -> None:
    assert parse_model_name(spec) == expected


@pytest.mark.parametrize("spec, problem", [
    ("gpt-4.1-mini", "must be provider:model"), ("openai:", "must be provider:model"),
    ("nosuch:model", "unknown chat model provider 'nosuch'"),
    ("ollama:qwen3:4b", "needs the langchain-ollama package: .venv/bin/pip install langchain-ollama"),
])
def test_chat_model_problems_are_config_errors(tmp_path, spec: str, problem: str) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(data_dir=tmp_path, chat_model=spec, generator="chat")
    with pytest.raises(ConfigError, match=problem):
        make_generator(settings, None)  # type: ignore[arg-type]


def test_chat_model_setting_selects_the_chat_backend(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("RAG_GENERATOR")
    monkeypatch.setenv("RAG_CHAT_MODEL", "openai:gpt-4.1-mini")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used")
    settings = load_settings(data_dir=tmp_path)
    assert settings.generator == "chat"
    generator = make_generator(settings, None)  # type: ignore[arg-type]
    assert generator.name == "chat" and type(generator.chat_model).__name__ == "ChatOpenAI"
    assert generator.chat_model.model_name == "gpt-4.1-mini"
    assert load_settings(data_dir=tmp_path, generator="extractive").generator == "extractive"


@pytest.mark.slow
def test_chat_model_against_a_real_openai_compatible_server(seed_settings, openai_server: str,  # noqa: F811
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server)
    monkeypatch.setenv("OPENAI_API_KEY", "not-needed")
    settings = load_settings(**{**seed_settings.model_dump(), "generator": "chat",
                                "chat_model": "openai:qwen2.5-coder-1.5b"})
    assistant = Assistant.from_settings(settings)
    assert assistant.generator.name == "chat"
    events = list(AssistantRunnable(assistant).stream(QUESTION))
    assert sum(e["type"] == "token" for e in events) > 1  # streamed by the server, token by token
    answer = events[-1]["answer"]
    # Verification and fallback are unchanged: whatever the model wrote, every citation is a real quote.
    assert answer["abstained"] or answer["citations"]
    text = seed_text()
    for citation in answer["citations"]:
        assert text[citation["start"]:citation["end"]] == citation["quote"]
