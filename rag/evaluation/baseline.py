"""The peer we must beat: the LangChain RAG tutorial's pipeline, on our embedding model and LLM.

As in the tutorial: ``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200,
add_start_index=True)``, a Chroma vector store (its own collection, default distance),
similarity search top 4, the tutorial's prompt with the chunks joined by blank lines, and the
model's reply as the answer: no verification, no abstention threshold. Its "citations" are
the 4 retrieved chunks (what tutorial UIs show as sources), each quoting the whole chunk at
its start offset. It declines when the reply says it does not know (``is_decline``).

Two things are ours, so that the comparison is about the pipeline and not the inputs: the
documents come from our loader (same text, so offsets are comparable), and a follow-up is
searched and asked as our rewriter writes it (the tutorial's first part has no memory).
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from typing import Any, Sequence

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.prompts import ChatPromptTemplate

from ..errors import GenerationError, RagError, StoreError
from ..generation.base import Generator, is_decline, number_passages
from ..rewriting import ConcatenatingRewriter, Turn
from ..types import Answer, Chunk, Citation, Hit, SourceDocument, content_hash

log = logging.getLogger(__name__)

CHUNK_SIZE, CHUNK_OVERLAP, TOP_K = 1000, 200, 4

# The tutorial's prompt (LangChain hub "rlm/rag-prompt"), word for word.
TUTORIAL_PROMPT = (
    "You are an assistant for question-answering tasks. Use the following pieces of retrieved context to answer "
    "the question. If you don't know the answer, just say that you don't know. Use three sentences maximum and "
    "keep the answer concise.\nQuestion: {question} \nContext: {context} \nAnswer:")


def split_documents(documents: Sequence[SourceDocument]) -> list[Chunk]:
    """The tutorial's chunks, with the provenance a citation needs."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True)
    chunks: list[Chunk] = []
    for document in documents:
        pieces = splitter.split_documents([Document(page_content=document.text)])
        for index, piece in enumerate(pieces):
            start = int(piece.metadata["start_index"])
            text = piece.page_content
            chunks.append(Chunk(id=content_hash("baseline", document.doc_id, start, text), doc_id=document.doc_id,
                                title=document.title, source=document.source, text=text, start=start,
                                end=start + len(text), index=index, doc_version=document.content_hash))
    return chunks


class BaselinePipeline:
    """Retrieve 4 chunks by similarity, ask the LLM with the tutorial's prompt, show the chunks."""

    name = "baseline"

    def __init__(self, vectors: Any, generator: Generator, k: int = TOP_K) -> None:
        self.vectors = vectors
        self.generator = generator
        self.k = k
        self.rewriter = ConcatenatingRewriter()
        self.prompt = ChatPromptTemplate.from_messages([("human", TUTORIAL_PROMPT)])

    @classmethod
    def build(cls, documents: Sequence[SourceDocument], embeddings: Embeddings, client: Any, collection: str,
              generator: Generator) -> "BaselinePipeline":
        """Index ``documents`` into ``collection`` of a Chroma client (only missing chunks are embedded)."""
        from langchain_chroma import Chroma

        try:
            vectors = Chroma(client=client, collection_name=collection, embedding_function=embeddings)
            chunks = split_documents(documents)
            wanted = {c.id: c for c in chunks}
            stored = set(vectors.get(include=[])["ids"])
            stale = sorted(stored - set(wanted))
            if stale:
                vectors.delete(ids=stale)
            missing = [c for c in chunks if c.id not in stored]
            for start in range(0, len(missing), 256):
                batch = missing[start:start + 256]
                vectors.add_documents([Document(page_content=c.text, metadata=c.to_metadata()) for c in batch],
                                      ids=[c.id for c in batch])
        except RagError:
            raise
        except Exception as error:
            raise StoreError(f"cannot build the baseline's Chroma collection '{collection}': {error}") from error
        log.info("baseline collection %s: %d chunks (%d embedded now)", collection, len(chunks), len(missing))
        return cls(vectors, generator)

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        """The question as searched and asked."""
        return self.rewriter.rewrite(question, history)

    def search(self, query: str, k: int) -> list[Hit]:
        """Similarity search, best first; relevance is the cosine (embeddings are normalised)."""
        pairs = self.vectors.similarity_search_with_score(query, k=k)
        hits = []
        for rank, (document, distance) in enumerate(pairs, start=1):
            chunk = Chunk.from_record(str(document.id), document.page_content, document.metadata)
            # Chroma's default space is squared L2; for unit vectors cos = 1 - d²/2.
            hits.append(Hit(chunk=chunk, score=-float(distance), relevance=1.0 - float(distance) / 2,
                            ranks={"dense": rank}))
        return hits

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        """The tutorial's answer, with the retrieved chunks as its citations."""
        started = time.perf_counter()
        standalone = self.rewrite(question, history)
        hits = self.search(standalone, self.k)
        retrieved = time.perf_counter()
        raw, prompt = self.generate(standalone, [h.chunk for h in hits])
        done = time.perf_counter()
        declined = not raw.strip() or is_decline(raw)
        citations = [] if declined else [
            Citation(n=n, doc_id=h.chunk.doc_id, title=h.chunk.title, source=h.chunk.source, quote=h.chunk.text,
                     start=h.chunk.start, end=h.chunk.end, page=h.chunk.page, chunk_id=h.chunk.id)
            for n, h in enumerate(hits, start=1)]
        trace: dict[str, Any] = {"raw_answer": raw, "prompt": prompt}
        if declined:
            trace["declined_by"] = "generator"
        timings = {"retrieval": (retrieved - started) * 1000, "generation": (done - retrieved) * 1000,
                   "total": (done - started) * 1000}
        return Answer(question=question, text=raw.strip(), abstained=declined, citations=citations, hits=hits,
                      standalone_question=standalone, timings_ms=timings, trace=trace)

    def generate(self, question: str, chunks: Sequence[Chunk]) -> tuple[str, str | None]:
        """(reply, prompt): the tutorial's prompt to the shared chat model; a backend without a
        chat model (extractive) answers from the same chunks its own way, with no prompt."""
        model = self.generator.chat_model
        try:
            if model is None:
                return "".join(self.generator.stream(question, number_passages(chunks))), None
            messages = self.prompt.invoke({"question": question,
                                           "context": "\n\n".join(c.text for c in chunks)}).to_messages()
            with self.generator.lock or nullcontext():   # llama.cpp serves one generation at a time
                reply = model.invoke(messages)
        except RagError:
            raise
        except Exception as error:
            raise GenerationError(f"the baseline's '{self.generator.name}' backend failed: {error}") from error
        text = reply.content if isinstance(reply.content, str) else "".join(
            part.get("text", "") for part in reply.content if isinstance(part, dict))
        return text, messages[0].content
