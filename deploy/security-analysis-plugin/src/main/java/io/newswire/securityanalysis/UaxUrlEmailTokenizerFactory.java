package io.newswire.securityanalysis;

import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.email.UAX29URLEmailTokenizer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenizerFactory;

/** Tokenizer {@code uax_url_email}: Unicode word boundaries, URLs and e-mail addresses kept whole (Lucene). */
@NamedComponent("uax_url_email")
public class UaxUrlEmailTokenizerFactory implements TokenizerFactory {

    @Override
    public Tokenizer create() {
        return new UAX29URLEmailTokenizer();
    }
}
