"""Fine-tuning recipes: sequence classification (topic, stance) and summarisation."""
