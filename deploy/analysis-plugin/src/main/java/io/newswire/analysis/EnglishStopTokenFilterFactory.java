package io.newswire.analysis;

import org.apache.lucene.analysis.TokenStream;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/** Token filter {@code newswire_english_stop}: removes Lucene's default English stop words (case-sensitive: put it after newswire_lowercase). */
@NamedComponent("newswire_english_stop")
public class EnglishStopTokenFilterFactory implements TokenFilterFactory {

    @Override
    public TokenStream create(TokenStream tokenStream) {
        return EnglishChain.stop(tokenStream);
    }
}
